"""Task families. Importing this package registers every task."""

from . import letters, mnist, sine, sms, stock  # noqa: F401  (registration side effects)
