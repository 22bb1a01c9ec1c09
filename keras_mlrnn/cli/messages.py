"""How `keras-mlrnn` reports problems: one line each, `error: ...` or `warning: ...`.

Example:
```python
import errno
from keras_mlrnn.cli.messages import os_error_line
os_error_line(OSError(errno.EACCES, "Permission denied", "/runs/a"))  # 'Permission denied: /runs/a'
```
"""

import contextlib
import errno
import sys
import warnings


@contextlib.contextmanager
def one_line_warnings():
    """A user warning prints as the command's own line, `warning: ...` (not Python's two).

    Other categories (a library's DeprecationWarning, ...) go where they went.
    """
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if not issubclass(category, UserWarning):
            return shown(message, category, filename, lineno, file, line)
        print(f"warning: {message}", file=sys.stderr)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


def os_error_line(error):
    """One line for an operating-system error: what failed, where, and what to do."""
    if error.errno == errno.ENOSPC:
        where = f" writing {error.filename}" if error.filename else ""
        return (
            f"no space left on the device{where}. Free some space, then continue with "
            "--resume (the last whole checkpoint is kept)."
        )
    if error.filename is None:
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"{error.strerror or error}: {error.filename}"
