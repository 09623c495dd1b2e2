"""Admin: dues. (Being built.)"""
