"""The sample release of the web tier and the build that packages it."""
