"""The REST API and the Server-Sent Events stream, on NiceGUI's FastAPI app."""
