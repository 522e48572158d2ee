"""Load tests: many simulated students speaking Streamlit's websocket protocol to the app."""
