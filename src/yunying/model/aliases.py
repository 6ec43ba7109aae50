"""The column names recognised in imported files, in English, 简体 and 繁體 — the one table of aliases.

``ALIASES[table][column] = (names, fallbacks)``. A file column is matched to a canonical column when its
name, compared by :func:`yunying.model.mapping.norm_name` (case, spaces, ``-``, ``_`` and full-width forms
ignored), is the canonical name itself, else one of ``names``, else one of ``fallbacks``; two columns of one
file that match the same canonical column at the same level are an error naming both (``--map`` decides).
``fallbacks`` are weaker names used only when nothing better is there (a PostHog export has ``timestamp``
and ``created_at``: the first is the event's time). ``properties`` holds the typed event properties
(``utm_source`` …), shared by file imports and capture (a capture property named ``$utm_source`` or
``渠道`` fills the typed column). ``docs/data-model.md`` shows this table; a test keeps the two equal.
"""
from __future__ import annotations

Names = tuple[tuple[str, ...], tuple[str, ...]]

_USER_ID: Names = (
    ("userid", "uid", "customer_id", "member_id", "login_id",
     "用户ID", "用戶ID", "用户编号", "用戶編號", "会员ID", "會員ID", "会员编号", "會員編號", "客户ID", "客戶ID",
     "顾客ID", "顧客ID"),
    ("user", "account_id", "用户", "用戶", "会员", "會員", "账号", "帳號"),
)

PROPERTIES: dict[str, Names] = {
    "utm_source": (("$utm_source", "来源", "來源", "流量来源", "流量來源"), ("source",)),
    "utm_medium": (("$utm_medium", "媒介"), ("medium",)),
    "utm_campaign": (("$utm_campaign", "campaign", "计划", "計劃", "广告计划", "廣告計劃", "推广计划", "推廣計劃"), ()),
    "channel": (("$channel", "acquisition_channel", "渠道", "获客渠道", "獲客渠道", "通路"), ()),
    "revenue": (("$revenue", "amount", "金额", "金額", "收入", "营收", "營收", "销售额", "銷售額", "订单金额", "訂單金額",
                 "支付金额", "支付金額", "实付金额", "實付金額"), ()),
    "content_id": (("article_id", "item_id", "内容ID", "內容ID", "文章ID"), ("content", "内容", "內容")),
    "variant": (("$variant", "experiment_variant", "实验组", "實驗組", "实验分组", "實驗分組"), ("group", "分组", "分組")),
}

ALIASES: dict[str, dict[str, Names]] = {
    "events": {
        "user_id": _USER_ID,
        "distinct_id": (("anonymous_id", "anon_id", "device_id", "$distinct_id", "anonymousid",
                         "匿名ID", "设备ID", "設備ID", "访客ID", "訪客ID"), ()),
        "event": (("event_name", "event_type", "事件", "事件名", "事件名称", "事件名稱", "事件类型", "事件類型"),
                  ("action", "name", "type", "行为", "行為", "动作", "動作")),
        "ts": (("timestamp", "time", "event_time", "datetime", "occurred_at", "event_timestamp", "$time",
                "时间", "時間", "事件时间", "事件時間", "时间戳", "時間戳", "发生时间", "發生時間", "日期时间", "日期時間"),
               ("created_at", "date", "order_date", "创建时间", "創建時間", "建立時間", "下单时间", "下單時間", "支付时间",
                "支付時間", "订单时间", "訂單時間", "日期", "下单日期", "下單日期")),
        "event_uuid": (("uuid", "event_id", "message_id", "messageid", "$insert_id", "insert_id",
                        "事件ID", "事件编号", "事件編號"), ()),
        **PROPERTIES,
        "properties": (("props", "$properties", "attributes", "属性", "屬性"), ()),
    },
    "spend": {
        "date": (("day", "dt", "spend_date", "日期", "投放日期", "消耗日期"), ("时间", "時間", "time")),
        "channel": (("source", "utm_source", "media", "渠道", "媒体", "媒體", "投放渠道", "通路"),
                    ("平台", "来源", "來源")),
        "campaign": (("utm_campaign", "campaign_name", "计划", "計劃", "广告计划", "廣告計劃", "计划名称", "計劃名稱",
                      "推广计划", "推廣計劃"), ("活动", "活動")),
        "placement": (("utm_content", "ad", "ad_id", "slot", "account", "广告位", "廣告位", "版位", "广告位置", "廣告位置"),
                      ()),
        "cost": (("spend", "amount", "cost_cny", "消耗", "花费", "花費", "费用", "費用", "成本", "支出", "消耗金额",
                  "消耗金額"), ("金额", "金額")),
        "currency": (("ccy", "币种", "幣種", "货币", "貨幣"), ()),
        "impressions": (("impr", "exposures", "views_total", "展示", "曝光", "展现", "展現", "展示数", "展示數", "展示量",
                         "曝光量", "曝光数", "曝光數", "展示次数", "展示次數"), ()),
        "reads": (("views", "read", "plays", "阅读", "閱讀", "阅读数", "閱讀數", "阅读量", "閱讀量", "播放", "播放量",
                   "播放数", "播放數", "观看", "觀看"), ()),
        "clicks": (("click", "点击", "點擊", "点击数", "點擊數", "点击量", "點擊量", "点击次数", "點擊次數"), ()),
    },
    "identities": {
        "distinct_id": (("anonymous_id", "anon_id", "alias", "previous_id", "匿名ID", "设备ID", "設備ID",
                         "访客ID", "訪客ID"), ()),
        "user_id": (("userid", "uid", "用户ID", "用戶ID", "会员ID", "會員ID"), ("user", "用户", "用戶")),
    },
    "users": {
        "user_id": (_USER_ID[0] + ("distinct_id",), _USER_ID[1] + ("id",)),
        "name": (("$name", "nickname", "username", "姓名", "名字", "昵称", "暱稱", "用户名", "用戶名"), ()),
        "email": (("$email", "mail", "邮箱", "郵箱", "电子邮件", "電子郵件", "電郵"), ()),
        "phone": (("$phone", "mobile", "tel", "手机", "手機", "手机号", "手機號", "手机号码", "手機號碼", "电话", "電話"), ()),
        "gender": (("sex", "$gender", "性别", "性別"), ()),
        "city": (("$city", "$geoip_city_name", "城市"), ()),
        "province": (("$province", "state", "region", "省份", "省", "地区", "地區"), ()),
        "country": (("$country", "$geoip_country_name", "国家", "國家"), ()),
        "properties": (("props", "$properties", "attributes", "属性", "屬性"), ()),
    },
}


def names(table: str, column: str) -> tuple[str, ...]:
    """The names of a canonical column (strong aliases)."""
    return ALIASES[table][column][0]


def fallbacks(table: str, column: str) -> tuple[str, ...]:
    """The weaker names of a canonical column, used when no column has one of its names."""
    return ALIASES[table][column][1]
