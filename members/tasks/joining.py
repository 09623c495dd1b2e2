"""Background jobs: joining. (Being built.)"""
