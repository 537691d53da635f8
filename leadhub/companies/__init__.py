"""Companies (accounts): firmographics, the domain that links work emails to them."""
