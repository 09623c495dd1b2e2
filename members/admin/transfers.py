"""Admin: transfers. (Being built.)"""
