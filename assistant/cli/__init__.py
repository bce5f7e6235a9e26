"""The ``learnloop`` command line and the demo data seeder."""
