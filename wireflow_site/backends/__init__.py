"""Database backends of our own: Django's, with one behaviour changed each."""
