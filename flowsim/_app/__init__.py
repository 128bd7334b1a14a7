"""The script ``flowsim app`` hands to Streamlit (a folder of its own, because Streamlit puts
the script's folder first on the import path)."""
