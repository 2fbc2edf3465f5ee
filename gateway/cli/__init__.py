"""The ``ketenpoort`` command line."""

import warnings

from authlib.deprecate import AuthlibDeprecationWarning

# authlib announces a future httpx rename on import; operators need not see it.
# (authlib installs an "always" filter for its class when imported, hence after.)
warnings.filterwarnings("ignore", category=AuthlibDeprecationWarning)
