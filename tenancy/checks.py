"""System checks of the tenancy layer (RLS coverage comes with the RLS issue)."""
