@echo off
rem Runs the Reach client from this folder; every argument is passed on (e.g. -s HOST -p PORT).
"%~dp0reach.exe" %*
exit /b %errorlevel%
