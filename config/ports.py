"""Named ports. Construct code uses these names, never bare numbers."""

HTTP = 80
HTTPS = 443
