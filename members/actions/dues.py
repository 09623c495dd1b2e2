"""Membership actions: dues. (Being built.)"""
