"""What the tests share: factories, API clients, and the query-budget helper (fixtures live in conftest)."""
