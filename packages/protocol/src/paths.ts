import { z } from 'zod';
import { LIMITS } from './limits.ts';

/** An absolute path (POSIX, a Windows drive path or a UNC path `\\server\share\…`), bounded, without NUL. */
export const AbsolutePath = z
  .string()
  .min(1)
  .max(LIMITS.maxPathChars)
  .refine((p) => !p.includes('\0'), 'path must not contain NUL')
  .refine(
    (p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || /^\\\\[^\\?.][^\\]*\\[^\\]+/.test(p),
    'path must be absolute',
  );
