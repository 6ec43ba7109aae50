"""--help in the language of the user (issue 13, cli/help_i18n.py)."""
