"""StoryBot front ends: the command line and, later, the chat bots and the HTTP API."""
