"""AG Grid's own interface text in Chinese (``dashGridOptions={"localeText": …}``).

AG Grid ships its interface text (paging bar, filters, menus) in English; the zh UI passes
these labels, keyed by AG Grid's locale keys (AG Grid's published zh-CN locale, trimmed to
the parts our grids show). The en UI keeps AG Grid's defaults.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LOCALE_ZH", "grid_options"]

LOCALE_ZH: dict[str, str] = {
    # paging bar and overlays
    "page": "页", "pageSizeSelectorLabel": "每页行数：", "more": "更多", "to": "至", "of": "共",
    "next": "下一页", "last": "末页", "first": "首页", "previous": "上一页",
    "firstPage": "首页", "previousPage": "上一页", "nextPage": "下一页", "lastPage": "末页",
    "pageLastRowUnknown": "?", "loadingOoo": "加载中…", "loadingError": "出错", "noRowsToShow": "无数据",
    "enabled": "已启用", "ariaPageSizeSelectorLabel": "每页行数",
    # filters
    "selectAll": "（全选）", "selectAllSearchResults": "（全选搜索结果）", "searchOoo": "搜索…",
    "blanks": "（空白）", "noMatches": "无匹配项", "filterOoo": "筛选…", "equals": "等于",
    "notEqual": "不等于", "blank": "空白", "notBlank": "非空白", "empty": "请选择…",
    "lessThan": "小于", "greaterThan": "大于", "lessThanOrEqual": "小于或等于",
    "greaterThanOrEqual": "大于或等于", "inRange": "介于", "inRangeStart": "从", "inRangeEnd": "到",
    "contains": "包含", "notContains": "不包含", "startsWith": "开头是", "endsWith": "结尾是",
    "dateFormatOoo": "年-月-日", "andCondition": "并且", "orCondition": "或者",
    "applyFilter": "应用", "resetFilter": "重置", "clearFilter": "清除", "cancelFilter": "取消",
    "textFilter": "文本筛选", "numberFilter": "数字筛选", "dateFilter": "日期筛选", "setFilter": "集合筛选",
    "filterSummaryInactive": "未筛选", "filterSummaryContains": "包含", "filterSummaryEquals": "等于",
    "columnFilter": "列筛选", "ariaFilterInput": "筛选输入", "ariaFilterValue": "筛选值",
    # column menu, selection
    "pinColumn": "固定列", "pinLeft": "固定在左侧", "pinRight": "固定在右侧", "noPin": "不固定",
    "autosizeThiscolumn": "自动调整此列宽度", "autosizeAllColumns": "自动调整所有列宽度",
    "resetColumns": "重置列", "columns": "列", "filters": "筛选", "sortAscending": "升序",
    "sortDescending": "降序", "sortUnSort": "取消排序", "copy": "复制", "export": "导出",
    "ariaChecked": "已选", "ariaUnchecked": "未选", "ariaRowSelect": "按空格键选择此行",
    "ariaRowDeselect": "按空格键取消选择此行", "ariaRowSelectAll": "按空格键选择全部行",
    "ariaRowToggleSelection": "按空格键切换行选择", "ariaSearch": "搜索", "ariaSearchFilterValues": "搜索筛选值",
    "selectedRows": "已选行", "totalRows": "总行数", "totalAndFilteredRows": "行", "rowCount": "行数",
}


def grid_options(lang: str, **options: Any) -> dict[str, Any]:
    """``dashGridOptions`` with the interface text of ``lang`` (zh: :data:`LOCALE_ZH`)."""
    out = dict(options)
    if lang == "zh":
        out["localeText"] = dict(LOCALE_ZH)
    return out
