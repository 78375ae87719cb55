// Placeholder until the inventory model lands.
