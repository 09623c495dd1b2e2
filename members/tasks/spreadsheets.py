"""Background jobs: spreadsheets. (Being built.)"""
