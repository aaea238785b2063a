"""Chinese and mixed Chinese/English text for the zh-en recognizer, by real word frequency.

Words come from wordfreq's Simplified Chinese list (it ships pre-tokenised frequencies; jieba
would only be needed to tokenise new text, which we never do). Every sampler takes a
``random.Random`` so a line is a pure function of ``(seed, index)``, as in ``corpus.py``.
"""
from __future__ import annotations

import random
import string
from functools import lru_cache

from .charset import gb2312_hanzi, is_hanzi
from .corpus import (bundled_wordlist, clock, code, date, english_words, phone, price, random_chars,
                     sample_english_line, words_line)

# Used when wordfreq is missing, so the code still runs (tests, a bare machine).
FALLBACK_ZH_WORDS = tuple(
    "的 是 在 了 我们 中国 公司 发票 金额 合计 税额 价格 数量 单价 商品 名称 日期 时间 地址 电话 银行 账号 "
    "收款 付款 现金 找零 会员 积分 欢迎 光临 谢谢 超市 餐厅 服务 有限 责任 科技 发展 北京 上海 广州 深圳".split()
)
ZH_SENTENCE_PUNCT = "，。、：；！？"
ZH_PAIRS = ("《》", "「」", "『』", "【】", "（）", "“”")
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z
RECEIPT_LABELS = (
    "合计", "小计", "总计", "金额", "单价", "数量", "实收", "找零", "应收", "优惠", "折扣", "税额", "税率",
    "价税合计", "开票日期", "发票代码", "发票号码", "收款人", "复核", "开票人", "销售方", "购买方", "纳税人识别号",
    "地址", "电话", "开户行及账号", "订单号", "流水号", "收银员", "会员卡号", "交易时间", "支付方式", "微信支付",
    "支付宝", "银联", "现金", "备注", "规格型号", "单位", "桌号", "人数",
)
UNITS = ("ml", "L", "kg", "g", "mm", "cm", "m", "W", "V", "mAh", "GB", "个", "件", "瓶", "盒", "袋", "斤", "包")
BRANDS = ("iPhone", "iPad", "Wi-Fi", "USB", "Type-C", "LED", "VIP", "APP", "CEO", "KTV", "Coca-Cola", "Nike",
          "Apple", "Huawei", "Xiaomi", "OPPO", "vivo", "PDF", "PPT", "NFC", "GPS", "AI", "T恤", "DIY", "SIM")


@lru_cache(maxsize=2)
def chinese_words(limit: int = 60000) -> tuple[str, ...]:
    """The most frequent Simplified Chinese words, kept only when GB2312 covers every character."""
    bundled = bundled_wordlist("zh")
    if bundled is not None:
        return bundled[:limit]
    allowed = set(gb2312_hanzi())
    try:
        import wordfreq
    except ImportError:
        return FALLBACK_ZH_WORDS
    return tuple(w for w in wordfreq.top_n_list("zh", limit) if w and all(ch in allowed for ch in w))


def _ranked(rng: random.Random, items: tuple[str, ...]) -> str:
    # Log-uniform rank, as for English: common words stay common, the tail is still reached.
    index = min(int(len(items) ** rng.random()) - 1, len(items) - 1)
    if rng.random() < 0.25:
        index = rng.randrange(len(items))
    return items[max(index, 0)]


def phrase(rng: random.Random, min_words: int = 1, max_words: int = 6) -> str:
    words = chinese_words()
    parts: list[str] = []
    for _ in range(rng.randint(min_words, max_words)):
        parts.append(_ranked(rng, words))
        if rng.random() < 0.12:
            parts.append(rng.choice(ZH_SENTENCE_PUNCT))
    line = "".join(parts).strip(ZH_SENTENCE_PUNCT) or parts[0]
    if rng.random() < 0.08:
        opening, closing = rng.choice(ZH_PAIRS)
        line = opening + line + closing
    elif rng.random() < 0.2:
        line += rng.choice("。！？；：，")
    return line


def zh_date(rng: random.Random) -> str:
    y, m, d = rng.randint(1990, 2035), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([
        f"{y}年{m}月{d}日", f"{y}年{m:02d}月{d:02d}日", f"{m}月{d}日", f"{y}-{m:02d}-{d:02d}", f"{y}/{m}/{d}",
        f"{y}.{m:02d}.{d:02d}", date(rng),
    ])


def zh_time(rng: random.Random) -> str:
    h, mi, s = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    return rng.choice([f"{h}时{mi}分", f"{h:02d}:{mi:02d}:{s:02d}", f"{rng.choice(['上午', '下午', '晚上'])}{h % 12 or 12}:{mi:02d}",
                       clock(rng)])


def zh_price(rng: random.Random) -> str:
    value = rng.choice([rng.uniform(0, 50), rng.uniform(0, 500), rng.uniform(0, 100000)])
    amount = f"{value:,.2f}" if rng.random() < 0.3 else f"{value:.2f}"
    return rng.choice([f"¥{amount}", f"￥{amount}", f"{amount}元", f"¥ {amount}", f"-¥{amount}", f"RMB {amount}",
                       f"{int(value)}元", price(rng)])


def zh_phone(rng: random.Random) -> str:
    digits = lambda n: "".join(rng.choice(string.digits) for _ in range(n))  # noqa: E731
    mobile = "1" + rng.choice("3456789") + digits(9)
    return rng.choice([
        mobile, f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}", f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}",
        f"+86 {mobile}", f"0{digits(2)}-{digits(8)}", f"(0{digits(3)}){digits(7)}", f"400-{digits(3)}-{digits(4)}",
        phone(rng),
    ])


def tax_code(rng: random.Random) -> str:
    """Unified social credit code (18 chars), invoice code (10/12 digits) or invoice number (8/20 digits)."""
    uscc = rng.choice("9151") + rng.choice("123") + "".join(rng.choice(string.digits) for _ in range(6)) + \
        "".join(rng.choice(USCC_ALPHABET) for _ in range(10))
    digits = lambda n: "".join(rng.choice(string.digits) for _ in range(n))  # noqa: E731
    return rng.choice([uscc, uscc, digits(12), digits(10), digits(8), digits(20), code(rng)])


def numeric_line(rng: random.Random, label_share: float = 0.4) -> str:
    """Numbers and codes, with or without the Chinese label a receipt prints before them."""
    value = rng.choice([zh_date, zh_time, zh_price, zh_phone, tax_code, tax_code])(rng)
    if rng.random() < label_share:
        value = rng.choice(RECEIPT_LABELS) + rng.choice(["：", ":", " ", "："]) + value
    return value


def receipt_line(rng: random.Random) -> str:
    item = phrase(rng, 1, 3)
    if rng.random() < 0.3:
        item += f"{rng.randint(1, 1000)}{rng.choice(UNITS)}"
    qty = rng.randint(1, 20)
    return rng.choice([
        f"{item} {qty} {zh_price(rng)}", f"{item} ×{qty} {zh_price(rng)}", f"{item}x{qty}", f"{rng.choice(RECEIPT_LABELS)}：{zh_price(rng)}",
        f"{rng.choice(RECEIPT_LABELS)}：{phrase(rng, 1, 3)}", f"{item}  {zh_price(rng)}",
    ])


def mixed_line(rng: random.Random) -> str:
    """Chinese with English words, brands, units, codes: what Chinese receipts and documents print."""
    english = lambda: rng.choice([words_line(rng, 2), rng.choice(BRANDS), code(rng)])  # noqa: E731
    parts = [phrase(rng, 1, 3), english()]
    if rng.random() < 0.5:
        parts.append(phrase(rng, 1, 2))
    if rng.random() < 0.3:
        parts.append(f"{rng.randint(1, 999)}{rng.choice(UNITS)}")
    rng.shuffle(parts)
    return rng.choice(["", " "]).join(parts)


def uniform_hanzi(rng: random.Random, charset: list[str]) -> str:
    """Uniformly drawn hanzi (with the odd symbol), so the rare half of GB2312 is learned too."""
    hanzi = [ch for ch in charset if is_hanzi(ch)]
    if not hanzi or rng.random() < 0.2:
        return random_chars(rng, charset)
    return "".join(rng.choice(hanzi) for _ in range(rng.randint(2, 16)))


# (share, sampler). Shares sum to 1; the uniform share sets how often a rare character is seen.
ZH_EN_MIX = (
    (0.28, lambda rng, cs: phrase(rng)),
    (0.12, lambda rng, cs: receipt_line(rng)),
    (0.12, lambda rng, cs: mixed_line(rng)),
    (0.12, lambda rng, cs: numeric_line(rng)),
    (0.16, sample_english_line),
    (0.20, uniform_hanzi),
)


def sample_zh_en_line(rng: random.Random, charset: list[str], max_chars: int = 32) -> str:
    roll, total = rng.random(), 0.0
    sampler = ZH_EN_MIX[-1][1]
    for share, candidate in ZH_EN_MIX:
        total += share
        if roll < total:
            sampler = candidate
            break
    line = sampler(rng, charset)
    allowed = set(charset)
    line = " ".join("".join(ch for ch in line if ch in allowed).split())
    return line[:max_chars].strip() or "0"
