from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF page-number style: {"count", "next", "previous", "results"}; ?page= and ?pageSize=."""

    page_size = 50
    page_size_query_param = "pageSize"
    max_page_size = 500
