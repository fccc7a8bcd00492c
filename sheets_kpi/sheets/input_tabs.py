"""The input tabs supervisors type into (SPEC §6): titles and columns in both locales, and the
words a cell may use for seniority, score kinds, violation types and appeal outcomes."""

from __future__ import annotations

from dataclasses import dataclass

from sheets_kpi.sheets import parse


@dataclass(frozen=True)
class Column:
    key: str
    ru: str
    en: str
    required: bool = True

    def names(self) -> set[str]:
        return {parse.normalise(n) for n in (self.key, self.ru, self.en)}


@dataclass(frozen=True)
class InputTab:
    key: str
    ru: str
    en: str
    columns: tuple[Column, ...]

    def title(self, locale: str) -> str:
        return self.en if locale == "en" else self.ru

    def header(self, key: str, title: str) -> str:
        """Column `key`'s header as the tab titled `title` shows it (English under its English
        title, else Russian); a key that is no column of the tab, as it is."""
        column = next((c for c in self.columns if c.key == key), None)
        if column is None:
            return key
        return column.en if parse.normalise(title) == parse.normalise(self.en) else column.ru


MANAGER = Column("manager", "Менеджер", "Manager")
DATE = Column("date", "Дата", "Date")
REF = Column("ref", "Ссылка", "Ref", required=False)
COMMENT = Column("comment", "Комментарий", "Comment", required=False)
TABS = (
    InputTab(
        "roster",
        "Сотрудники",
        "Managers",
        (
            Column("amo_user_id", "ID amoCRM", "amoCRM user id"),
            Column("name", "Имя", "Name"),
            Column("department", "Отдел", "Department"),
            Column("seniority", "Опыт", "Seniority", required=False),
            Column("email", "Email", "Email", required=False),
            Column(
                "personal_spreadsheet", "Личная таблица", "Personal spreadsheet", required=False
            ),
            Column("active", "Активен", "Active", required=False),
            Column("bonus_base", "База бонуса", "Bonus base", required=False),
        ),
    ),
    InputTab(
        "plans",
        "Планы",
        "Plans",
        (
            Column("period", "Период", "Period"),
            Column("manager", "Менеджер", "Manager", False),
            Column("department", "Отдел", "Department", required=False),
            Column("kpi", "Показатель", "KPI"),
            Column("plan", "План", "Plan"),
        ),
    ),
    InputTab(
        "scores",
        "Оценки",
        "Scores",
        (
            DATE,
            MANAGER,
            Column("kind", "Вид", "Kind"),
            Column("score", "Оценка", "Score"),
            REF,
            COMMENT,
        ),
    ),
    InputTab(
        "violations",
        "Нарушения",
        "Violations",
        (DATE, MANAGER, Column("type", "Тип", "Type"), REF, COMMENT),
    ),
    InputTab(
        "appeals",
        "Апелляции",
        "Appeals",
        (DATE, MANAGER, REF, Column("outcome", "Итог", "Outcome")),
    ),
    InputTab(
        "close",
        "Закрытие",
        "Close",
        (
            Column("period", "Период", "Period"),
            Column("department", "Отдел", "Department", required=False),
            Column("manager", "Менеджер", "Manager", required=False),
            Column("action", "Действие", "Action"),
            Column("who", "Кто", "Who"),
            COMMENT,
        ),
    ),
)


def _spellings(**canonical: str) -> dict[str, str]:
    """`junior="джуниор|младший"` → every spelling (normalised) mapped to `junior`."""
    return {
        parse.normalise(word): key
        for key, words in canonical.items()
        for word in [key, *words.split("|")]
        if word
    }


SENIORITY = _spellings(junior="джуниор|младший|jun", senior="сеньор|синьор|старший|sen")
KINDS = _spellings(call_quality="call quality|качество звонков|качество", nps="")
VIOLATION_TYPES = _spellings(deal="сделка", control="контроль", regulation="регламент")
ACTIONS = _spellings(
    approve="утвердить|утверждено|утвердил|утвердила",
    accept="принять|принято|принял|приняла",
    reject="отклонить|отклонено|отклонил|отклонила",
)
OUTCOMES = _spellings(
    won="выиграна|выигран|принята",
    lost="проиграна|проигран|отклонена",
    pending="на рассмотрении|ожидает",
)


def find_title(spec: InputTab, existing: list[str]) -> str | None:
    """The tab in either locale, case and spaces ignored."""
    wanted = {parse.normalise(spec.ru), parse.normalise(spec.en)}
    return next((t for t in existing if parse.normalise(t) in wanted), None)
