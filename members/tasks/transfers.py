"""Background jobs: transfers. (Being built.)"""
