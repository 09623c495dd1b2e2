"""drf-spectacular post-processing of the whole schema, for the clients generated from it."""


def drop_parameter_titles(result, generator, request, public):
    """A query parameter's schema carries its filter's label as `title` ("学历"), which
    client generators turn into type names (`MembersList学历`); the parameter's name and
    description say the same, so the title goes and the types are named after the
    parameter (`MembersListEducation`)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                parameter.get("schema", {}).pop("title", None)
    return result
