"""The OpenAI door: chat completions and the Responses API."""
