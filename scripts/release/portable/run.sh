#!/bin/sh
# Runs the Reach client from this folder; every argument is passed on (e.g. -s HOST -p PORT).
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/reach" "$@"
