"""Membership actions: transfers. (Being built.)"""
