"""Values every test module shares."""

PASSWORD = "test-password-123"
ROLES = ["admin", "coordinator", "collection_staff", "lab_tech", "qa", "infusion_staff"]
