"""Excel in and out (openpyxl): the monthly template, its upload, and the exports."""
