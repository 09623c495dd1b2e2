"""Admin: joining. (Being built.)"""
