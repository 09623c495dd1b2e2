"""Background jobs: dues. (Being built.)"""
