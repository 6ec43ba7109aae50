"""The demo app's model parameters: channels and their returns, activation, purchases, churn,
the experiment, the campaign, content and the weekly patterns (the truth the data are drawn from)."""
from __future__ import annotations

CHANNELS = ("search", "feed", "wechat", "kol", "organic", "referral")
PAID = ("search", "feed", "wechat", "kol")
SIGNUP_SHARE = {"search": 0.26, "feed": 0.24, "wechat": 0.10, "kol": 0.10, "organic": 0.20, "referral": 0.10}
TARGET_CPR = {"search": 25.0, "feed": 18.0, "wechat": 30.0, "kol": 40.0}
# typical daily (slot) spend / h: how far into the diminishing-returns curve the channel runs
SATURATION = {"search": 1.2, "feed": 2.0, "wechat": 3.0, "kol": 2.5}
ACTIVATION_RATE = {"search": 0.55, "feed": 0.38, "wechat": 0.48, "kol": 0.52, "organic": 0.62, "referral": 0.66}
DAILY_PURCHASE_PROB = {"search": 0.050, "feed": 0.030, "wechat": 0.040, "kol": 0.060, "organic": 0.045,
                       "referral": 0.050}
CHURN_DAILY = {"search": 0.035, "feed": 0.070, "wechat": 0.045, "kol": 0.055, "organic": 0.030, "referral": 0.032}
NON_ACTIVATED_PURCHASE_FACTOR = 0.3
P_MAX = 0.9
EXTRA_PURCHASES_MEAN = 0.15
REVENUE_MEAN = 60.0
REVENUE_SIGMA = 0.8
EXPERIMENT = "new_checkout"
PURCHASE_MULTIPLIER = 1.15
WINDOW_DAYS = 14
CAMPAIGN = "summer_sale"
CAMPAIGN_LIFT = 0.3
CAMPAIGN_VIEW_SHARE = 0.7
CAMPAIGN_COST_PER_USER = 0.25         # CNY of coupons per generated user
CAMPAIGN_TARGET_UPLIFT = 0.3          # targets = expected no-campaign purchases x 1.3
N_CONTENT = 200
PLATFORMS = ("ios", "android", "web")
PLATFORM_P = (0.46, 0.49, 0.05)
REPEAT_TOUCH_P = 0.30
OTHER_TOUCH_P = 0.25
OTHER_TOUCH_WEIGHTS = {"search": 0.45, "feed": 0.25, "organic": 0.20, "referral": 0.10}
BOUNCERS_PER_USER = 0.5

# Monday .. Sunday
WEEKLY_SPEND = {"search": (1.08, 1.06, 1.04, 1.02, 1.0, 0.9, 0.9), "feed": (0.95, 0.95, 0.95, 1.0, 1.05, 1.1, 1.1)}
WEEKLY_FREE = (0.95, 0.95, 0.95, 0.97, 1.03, 1.1, 1.1)
WEEKLY_ACTIVITY = (1.0, 1.0, 1.0, 1.0, 1.05, 1.25, 1.25)
WEEKLY_VIEWS = (1.0, 1.0, 1.0, 1.0, 1.0, 1.15, 1.15)

# Event names in the order of their codes in the generated arrays.
EVENT_NAMES = ("ad_click", "landing", "signup", "activate", "app_open", "view_content", "share", "follow",
               "purchase", "$exposure", "campaign_view")
(E_AD_CLICK, E_LANDING, E_SIGNUP, E_ACTIVATE, E_APP_OPEN, E_VIEW, E_SHARE, E_FOLLOW, E_PURCHASE,
 E_EXPOSURE, E_CAMPAIGN_VIEW) = range(len(EVENT_NAMES))
