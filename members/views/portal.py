"""Portal views: the member's own page, the card, and public card verification."""

urlpatterns: list = []
