"""Lead enrichment: small pluggable steps that fill in what a lead left out, never what it gave."""
