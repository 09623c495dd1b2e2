"""Pieces the benchmarks share."""


def county_federation():
    """中华全国总工会 → 浙江省总工会 → 杭州市总工会 → 西湖区总工会, made through the actions
    as the app makes them; returns the county federation."""
    from organizations import actions
    from organizations.models import Level

    national = actions.create_national_federation(data={"name": "中华全国总工会"})
    province = actions.create_organization(
        parent=national,
        data={"name": "浙江省总工会", "level": Level.PROVINCIAL, "region_code": "330000"},
    )
    city = actions.create_organization(
        parent=province, data={"name": "杭州市总工会", "level": Level.CITY}
    )
    return actions.create_organization(
        parent=city, data={"name": "西湖区总工会", "level": Level.COUNTY}
    )
