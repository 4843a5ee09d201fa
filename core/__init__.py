"""StoryBot core: the async pipeline, its providers and its value types (no chat libraries)."""
