"""Test support shared by every service's suite: real Redis, real nginx, temp databases."""
