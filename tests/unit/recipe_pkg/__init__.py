"""A source and a destination declared outside Narrowcast's package, as a merchant's own code would be.

``test_extending_recipe.py`` runs them through extract, the raw table, a model stand-in and a sync without
editing any registry file.
"""
