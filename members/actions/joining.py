"""Membership actions: joining. (Being built.)"""
