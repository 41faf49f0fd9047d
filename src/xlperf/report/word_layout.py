"""The Word page layout the renderer relies on (Word 版式常量), shared with ``tools/template_builder.py``.

The template's A4 page with GB/T 9704-2012 margins leaves :data:`TEXT_WIDTH_CM` for text; the table
captioned :data:`SCORE_TABLE_CAPTION` is the one whose repeated 一级/二级 cells the renderer merges.
"""

TEXT_WIDTH_CM = 21.0 - 2.8 - 2.6  # A4 width less the left and right margins
SCORE_TABLE_CAPTION = "自评表"  # 可选文字标题: the renderer merges repeated 一级/二级 cells of this table
