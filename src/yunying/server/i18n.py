"""Dashboard labels in English, 简体中文 and 繁體中文.

The language is ``?lang=`` (remembered in a cookie), else the cookie, else the
best match of the browser's ``Accept-Language`` (zh-TW/HK/MO and zh-Hant →
繁體; other zh → 简体), else English. A label missing in a language falls back to
English, and an unknown key (a spec field added later) to the key itself.
"""
from __future__ import annotations

LANGS = ("en", "zh-Hans", "zh-Hant")
LANG_NAMES = {"en": "English", "zh-Hans": "简体中文", "zh-Hant": "繁體中文"}
COOKIE = "yy_lang"

# key: (English, 简体中文, 繁體中文)
MESSAGES: dict[str, tuple[str, str, str]] = {
    # navigation and pages
    "app": ("運營", "运营", "運營"),
    "overview": ("Overview", "概览", "概覽"),
    "trends": ("Trends", "事件分析", "事件分析"),
    "funnel": ("Funnel", "漏斗分析", "漏斗分析"),
    "retention": ("Retention", "留存分析", "留存分析"),
    "lifecycle": ("Lifecycle", "生命周期", "生命週期"),
    "channels": ("Channels", "渠道分析", "渠道分析"),
    "experiments": ("Experiments", "实验分析", "實驗分析"),
    "experiment": ("Experiment", "实验分析", "實驗分析"),
    "new_users_page": ("New users", "新增用户", "新增用戶"),
    "revenue_page": ("Revenue", "营收", "營收"),
    "stickiness": ("Stickiness", "粘性分析", "黏性分析"),
    "paths": ("Paths", "路径分析", "路徑分析"),
    "placements": ("Placements", "投放位分析", "投放位分析"),
    "budget": ("Budget", "预算分配", "預算分配"),
    "saved": ("Saved", "已保存", "已儲存"),
    "more": ("More", "更多", "更多"),
    "more_options": ("More options", "更多选项", "更多選項"),
    "language": ("Language", "语言", "語言"),
    "project": ("Project", "项目", "專案"),
    "sign_out": ("Sign out", "退出", "登出"),
    # actions and states
    "run": ("Run", "查询", "查詢"),
    "save": ("Save", "保存", "儲存"),
    "save_name": ("Name of this analysis", "分析名称", "分析名稱"),
    "saved_ok": ("Saved", "已保存", "已儲存"),
    "add_step": ("Add step", "添加步骤", "新增步驟"),
    "add_item": ("Add", "添加", "新增"),
    "remove": ("Remove", "删除", "刪除"),
    "delete": ("Delete", "删除", "刪除"),
    "open": ("Open", "打开", "開啟"),
    "loading": ("Loading…", "加载中…", "載入中…"),
    "error": ("Error", "错误", "錯誤"),
    "not_available": ("This analysis is not available in this build.", "此版本暂不提供该分析。",
                      "此版本暫不提供該分析。"),
    "no_data": ("No data", "暂无数据", "暫無資料"),
    "parameters": ("Parameters", "参数", "參數"),
    "numbers": ("Numbers", "数据", "數據"),
    "chart": ("Chart", "图表", "圖表"),
    "analyses": ("Saved analyses", "已保存的分析", "已儲存的分析"),
    "dashboards": ("Dashboards", "看板", "儀表板"),
    "dashboard": ("Dashboard", "看板", "儀表板"),
    "new_dashboard": ("New dashboard", "新建看板", "新增儀表板"),
    "dashboard_name": ("Dashboard name", "看板名称", "儀表板名稱"),
    "create": ("Create", "创建", "建立"),
    "nothing_saved": ("Nothing saved yet: run an analysis and press Save.", "还没有保存的内容：运行分析后点击保存。",
                      "還沒有儲存的內容：執行分析後點選儲存。"),
    "rows_shown": ("rows shown", "行已显示", "列已顯示"),
    "of": ("of", "/", "/"),
    # sign-in
    "sign_in": ("Sign in", "登录", "登入"),
    "token": ("Read token", "读取令牌", "讀取權杖"),
    "sign_in_hint": ("Paste a read token of the project (`yunying keys create --kind read`).",
                     "请粘贴项目的读取令牌（`yunying keys create --kind read`）。",
                     "請貼上專案的讀取權杖（`yunying keys create --kind read`）。"),
    "invalid_token": ("Unknown, revoked or write-only token.", "令牌无效、已吊销或仅可写入。",
                      "權杖無效、已撤銷或僅可寫入。"),
    # overview
    "acquisition": ("Acquisition", "拉新", "拉新"),
    "activation": ("Activation", "促活", "促活"),
    "retention_section": ("Retention", "留存", "留存"),
    "revenue_section": ("Revenue", "营收", "營收"),
    "current": ("This period", "本期", "本期"),
    "previous": ("Previous period", "上期", "上期"),
    "change": ("Change", "环比", "環比"),
    "vs_previous": ("vs previous", "较上期", "較上期"),
    "week_of": ("Week of", "周起始", "週起始"),
    "new_users": ("New users (signups)", "新增注册用户", "新增註冊用戶"),
    "spend": ("Spend", "投放花费", "投放花費"),
    "cost_per_registration": ("Cost per registration (paid)", "注册成本（付费渠道）", "註冊成本（付費渠道）"),
    "activation_rate": ("Activation rate of new users", "新用户激活率", "新用戶激活率"),
    "dau_avg": ("Average DAU", "日活跃用户（均值）", "日活躍用戶（均值）"),
    "wau": ("WAU", "周活跃用户", "週活躍用戶"),
    "week1_retention": ("Week-1 retention of last week's new users", "上周新用户次周留存",
                        "上週新用戶次週留存"),
    "revenue": ("Revenue", "收入", "收入"),
    "paying_users": ("Paying users", "付费用户", "付費用戶"),
    "purchases": ("Purchases", "订单数", "訂單數"),
    "arppu": ("ARPPU", "每付费用户收入", "每付費用戶收入"),
    # spec fields
    "event": ("Event", "事件", "事件"),
    "active": ("Any event (active users)", "任意事件（活跃用户）", "任意事件（活躍用戶）"),
    "measure": ("Measure", "指标", "指標"),
    "property": ("Property", "属性", "屬性"),
    "interval": ("Interval", "时间粒度", "時間粒度"),
    "period": ("Period", "周期", "週期"),
    "periods": ("Periods", "周期数", "週期數"),
    "by": ("Break down by", "分组", "分組"),
    "top": ("Top N", "前 N 项", "前 N 項"),
    "date_from": ("From", "开始日期", "開始日期"),
    "date_to": ("To", "结束日期", "結束日期"),
    "fill_zeros": ("Fill empty periods with 0", "空白周期补 0", "空白週期補 0"),
    "week": ("Week (Monday)", "周（周一）", "週（週一）"),
    "activation_hours": ("Activation window (hours)", "激活窗口（小时）", "激活窗口（小時）"),
    "steps": ("Steps", "步骤", "步驟"),
    "window": ("Conversion window", "转化窗口", "轉化窗口"),
    "order": ("Step order", "步骤顺序", "步驟順序"),
    "exclusions": ("Exclusions", "排除事件", "排除事件"),
    "start_event": ("Start event", "起始事件", "起始事件"),
    "return_event": ("Return event", "回访事件", "回訪事件"),
    "cohort": ("Cohort", "同期群", "同期群"),
    "mode": ("Mode", "模式", "模式"),
    "metrics": ("Metrics", "指标", "指標"),
    "attribution": ("Attribution", "归因模型", "歸因模型"),
    "method": ("Method", "方法", "方法"),
    "by_channel": ("By channel", "按渠道", "按渠道"),
    # values
    "day": ("Day", "天", "天"),
    "month": ("Month", "月", "月"),
    "count": ("Event count", "事件次数", "事件次數"),
    "users": ("Unique users", "去重用户数", "去重用戶數"),
    "per_user": ("Per user", "人均次数", "人均次數"),
    "sum": ("Sum", "求和", "求和"),
    "avg": ("Average", "平均", "平均"),
    "min": ("Minimum", "最小值", "最小值"),
    "max": ("Maximum", "最大值", "最大值"),
    "median": ("Median", "中位数", "中位數"),
    # columns
    "date": ("Date", "日期", "日期"),
    "value": ("Value", "数值", "數值"),
    "breakdown": ("Breakdown", "分组", "分組"),
    "channel": ("Channel", "渠道", "渠道"),
    "label": ("Metric", "指标", "指標"),
    "conversion": ("Conversion", "转化率", "轉化率"),
}


def pick_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    for choice in (query, cookie):
        if choice in LANGS:
            return choice
    best, best_q = "en", 0.0
    for i, part in enumerate((accept or "").split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        q -= i * 1e-6  # earlier wins ties
        lang = _lang_of(tag)
        if lang and q > best_q:
            best, best_q = lang, q
    return best


def _lang_of(tag: str) -> str | None:
    if tag.startswith("zh"):
        if any(x in tag for x in ("hant", "-tw", "-hk", "-mo")):
            return "zh-Hant"
        return "zh-Hans"
    if tag.startswith("en"):
        return "en"
    return None


def messages(lang: str) -> dict[str, str]:
    col = LANGS.index(lang) if lang in LANGS else 0
    return {key: values[col] or values[0] for key, values in MESSAGES.items()}
