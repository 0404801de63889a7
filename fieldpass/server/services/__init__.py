"""Domain operations of the server; resources call these, each write in one transaction."""
