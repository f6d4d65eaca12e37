"""The console's NiceGUI pages and their components."""
