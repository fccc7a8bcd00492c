"""Labels of the human-facing tabs in each locale (SPEC §11); data_* tabs never change with it."""

from __future__ import annotations

from typing import Literal

Locale = Literal["ru", "en"]

LABELS: dict[str, dict[str, str]] = {
    "ru": {
        "tab.summary": "Итоги — {department}",
        "tab.ranking": "Рейтинг — {department}",
        "tab.dynamics": "Динамика — {department}",
        "tab.matrix": "Матрица",
        "tab.clients": "Клиенты",
        "tab.issues": "Проблемы данных",
        "tab.log": "Журнал",
        "tab.released": "{title} (отключена {date})",
        "manager": "Менеджер",
        "department": "Отдел",
        "period": "Период",
        "score": "Балл",
        "rank": "Место",
        "rank_of": "{rank} из {count}",
        "unranked": "вне рейтинга",
        "change": "Изменение",
        "bonus": "Бонус",
        "bonus_now": "Бонус сейчас",
        "bonus_at_pace": "Бонус при текущем темпе",
        "neighbours_title": "Ваше место в отделе",
        "personal.title": "KPI — {name} ({email})",
        "prize": "Приз",
        "top_kpi": "Главный вклад",
        "kpi": "Показатель",
        "plan": "План",
        "fact": "Факт",
        "achievement": "Выполнение",
        "weight": "Вес",
        "contribution": "Вклад в балл",
        "still_needed": "Осталось до 100 %",
        "forecast": "Прогноз по темпу",
        "week": "Неделя",
        "total": "Итого по отделу",
        "weeks_title": "Последние 12 недель",
        "violations_title": "Открытые нарушения по сделкам",
        "overdue_title": "Просроченные задачи",
        "lead": "Сделка",
        "task": "Задача",
        "rule": "Правило",
        "since": "С",
        "deadline": "Срок",
        "link": "Ссылка",
        "seniority": "Опыт",
        "client_type": "Клиент",
        "won": "Выиграно",
        "lost": "Проиграно",
        "n": "Всего",
        "win_rate": "Доля побед",
        "ci_low": "ДИ 95 % от",
        "ci_high": "ДИ 95 % до",
        "mean_won_price": "Средний чек",
        "median_cycle_days": "Медиана цикла, дн.",
        "clients": "Клиентов",
        "once_share": "Купили один раз",
        "repeat_share": "Купили повторно",
        "median_days_between": "Медиана между покупками, дн.",
        "scope": "Кто",
        "all": "Все",
        "sellers_note": "Сделки продавцов: {departments} (analytics.seller_departments)",
        "severity": "Важность",
        "source": "Источник",
        "where": "Где",
        "value": "Значение",
        "message": "Сообщение",
        "first_seen": "Впервые",
        "started": "Начало",
        "duration": "Длительность, с",
        "amocrm_requests": "Запросов amoCRM",
        "entities": "Новых / изменённых",
        "sheets_requests": "Запросов Sheets",
        "rows_written": "Строк записано",
        "status": "Статус",
        "error": "Ошибка",
        "junior": "Джуниор",
        "senior": "Сеньор",
        "new": "Новый",
        "repeat": "Повторный",
        "more": "ещё {value}",
        "less": "на {value} меньше",
        "points": "{value} п.п.",
        "done": "выполнено",
        "tab.statement": "Ведомость {period}",
        "tab.discrepancies": "Расхождения",
        "tab.recompute": "Пересчёт {period}",
        "multiplier": "Множитель",
        "base": "База",
        "adjustment": "Корректировка",
        "approved_by": "Утвердил",
        "approved_at": "Утверждено",
        "in_words": "Расчёт",
        "status.approved": "утверждено",
        "status.draft": "черновик",
        "status.recompute": "пересчёт",
        "statement_note": "Период {period}: {status}. {hint}",
        "hint.draft": (
            "Цифры ещё меняются; утвердите период во вкладке «Закрытие» (действие «утвердить»)."
        ),
        "hint.approved": (
            "Утверждённые цифры не меняются; поздние изменения — во вкладке «Расхождения»."
        ),
        "hint.recompute": (
            "Предпросмотр `sheets-kpi run --period`: живые вкладки и "
            "утверждённые ведомости не тронуты."
        ),
        "words.no_score": "нет балла: ни у одного показателя нет плана",
        "words.below_gate": "балл {score} ниже порога {gate}",
        "words.prize": "приз {amount}",
        "words.extra": "доплата {amount}",
        "words.hold": "удержание {amount}",
        "words.carried": "{amount} удержания переходит в следующую ведомость",
        "past_title": "Прошлые периоды",
        "approved_value": "Утверждено",
        "value_now": "Сейчас",
        "bonus_difference": "Разница бонуса",
        "proposal": "Предложение",
        "leads": "Сделки",
        "field.plan": "{kpi}: план",
        "field.rank": "Место",
        "field.bonus": "Бонус",
        "decision.proposed": "предложено: примите или отклоните во вкладке «Закрытие»",
        "decision.accepted": "принято",
        "decision.rejected": "отклонено",
        "decision.no_effect": "на бонус не влияет",
        "change.reopened": "снята с «Успешно»",
        "change.deleted": "удалена",
        "change.won_again": "выиграна заново в другом периоде",
        "change.repriced": "цена {before} → {now}",
        "change.reassigned": "передана (ответственный {to})",
        "change.new": "новая победа на {amount}",
        "no_discrepancies": "Расхождений нет: утверждённые периоды совпадают с пересчётом.",
        "adjustment_now": "Корректировка к выплате",
        "tab.tv": "ТВ — {department}",
        "tv.as_of": "данные на {time}",
        "tv.average": "Среднее по отделу",
        "tv.winners": "Победители {period}",
        "tv.page.leaderboard": "Рейтинг",
        "tv.page.progress": "Выполнение плана",
        "tv.page.wins_today": "Сегодня",
        "tv.page.no_wins_today": "Сегодня побед пока нет — всё впереди",
        "tv.page.new_win": "Новая победа!",
        "tv.page.waiting": "Ждём первый цикл: данных для экрана ещё нет",
        "tv.page.best": "лучший: {manager}, {percent}",
        "tv.page.win": "{manager}: победа — {lead}",
        "tv.page.moved": "{manager}: место {rank} (было {before})",
        "within_to_date": "в пределах плана на сегодня ({plan})",
        "over_to_date": "{value} сверх плана на сегодня ({plan})",
        "task_number": "задача № {id}",
        "week_in_progress": "{week} (идёт)",
        "rule.no_next_task": "нет следующей задачи",
        "rule.stale_stage": "сделка застряла на этапе",
        "rule.required_fields": "не заполнены обязательные поля",
        "rule.zero_price_after": "нулевая сумма сделки",
        "issue.tab_missing": "вкладки нет: запустите `sheets-kpi init`",
        "issue.tab_missing_kept": (
            "вкладки нет: запустите `sheets-kpi init`; вкладки менеджеров не меняются и не "
            "удаляются, остаются последние верные данные"
        ),
        "issue.no_plan": "нет плана: показатель виден, но не входит в балл",
        "issue.no_plan_ever": (
            "нет плана ни в этом месяце, ни в одном из прошлых: показатель виден, но не входит "
            "в балл"
        ),
        "issue.no_plan_department": (
            "ни у кого в отделе нет плана (нет строки по умолчанию и строк менеджеров): "
            "показатель виден, но не входит в балл"
        ),
        "issue.no_plan_department_ever": (
            "ни у кого в отделе нет плана (нет строки по умолчанию и строк менеджеров) ни в этом "
            "месяце, ни в одном из прошлых: показатель виден, но не входит в балл"
        ),
        "issue.plan_carried": (
            "план перенесён из {start} для {count} менеджер(ов): нет строки плана на {period} "
            "(добавьте строки, чтобы задать новый план; plans.carry_over: false отключает перенос)"
        ),
        "issue.unknown_manager": (
            "неизвестный менеджер {name}: во вкладке «Сотрудники» нет такого id или точного "
            "имени; строка пропущена"
        ),
        "issue.stranger": "пользователь amoCRM с активностью не указан во вкладке «Сотрудники»",
        "issue.stranger_no_group": (
            "пользователь amoCRM с активностью не указан во вкладке «Сотрудники»; он не состоит "
            "ни в одной группе amoCRM, поэтому `sheets-kpi init` не может его распределить: "
            "добавьте его в «Сотрудники» с отделом или поместите в группу с именем отдела"
        ),
        "issue.not_number": "ожидается число, а не {got}; строка пропущена",
        "issue.share_range": "доля — от 0 до 100 %, а не {got}; строка пропущена",
        "issue.not_date": (
            "ожидается дата вида 2026-11-03 или 03.11.2026, а не {got}; строка пропущена"
        ),
        "issue.not_month": (
            "ожидается месяц вида 2026-11, 11.2026 или ноябрь 2026, а не {got}; строка пропущена"
        ),
        "issue.month_range": "месяц — от 1 до 12, а не {got}; строка пропущена",
        "issue.date_typo": (
            "дата раньше {first} года — похоже на опечатку: {got}; строка пропущена"
        ),
        "issue.not_boolean": "ожидается да или нет, а не {got}; строка пропущена",
        "issue.cell_empty": "ячейка пуста; строка пропущена",
        "issue.not_user_id": "нужен целый id пользователя amoCRM; строка пропущена",
        "issue.ambiguous_manager": (
            "{name} подходит нескольким менеджерам (id {ids}): укажите id; строка пропущена"
        ),
        "issue.negative_plan": "план не может быть отрицательным; строка пропущена",
        "issue.nps_range": "ответ NPS — целое число от 0 до 10; строка пропущена",
        "issue.call_quality_range": (
            "качество звонка оценивается от {low} до {high}; строка пропущена"
        ),
        "issue.accept_needs_manager": (
            "чтобы принять корректировку, укажите менеджера; строка пропущена"
        ),
        "issue.reject_needs_manager": (
            "чтобы отклонить корректировку, укажите менеджера; строка пропущена"
        ),
        "issue.nothing_to_accept": (
            "нечего принимать: у этого менеджера нет открытого расхождения за {period}; строка "
            "прочитана один раз и остаётся как есть"
        ),
        "issue.nothing_to_reject": (
            "нечего отклонять: у этого менеджера нет открытого расхождения за {period}; строка "
            "прочитана один раз и остаётся как есть"
        ),
        "issue.unknown_choice": (
            "неизвестное значение {got}; допустимые значения: {allowed}; строка пропущена"
        ),
        "issue.approve_with_manager": (
            "период утверждается для всего отдела: оставьте менеджера пустым; строка пропущена"
        ),
        "issue.duplicate_column": "тот же столбец, что и {first}; читается только {first}",
        "issue.duplicate_user": (
            "тот же пользователь amoCRM, что и в строке {first}; действует последняя строка"
        ),
        "issue.duplicate_plan": (
            "план {kpi} на {period} задан дважды (ещё в строке {first}); действует последняя строка"
        ),
        "issue.after_today": (
            "дата позже сегодняшней ({today}): опечатка или строка, которая считается с этого "
            "дня; строка пропущена"
        ),
        "issue.missing_columns": "нет столбцов: {names}; вкладка пропущена",
        "issue.missing_columns_kept": (
            "нет столбцов: {names}; вкладка пропущена; вкладки менеджеров не меняются и не "
            "удаляются, остаются последние верные данные"
        ),
        "issue.tab_emptied_kept": (
            "вкладка пуста, заголовок тоже: из неё ничего не читается; отмените очистку или "
            "запустите `sheets-kpi init`, чтобы записать заголовок снова; вкладки менеджеров не "
            "меняются и не удаляются, остаются последние верные данные"
        ),
        "issue.no_manager_kept": (
            "из этой вкладки не читается ни один менеджер; вкладки менеджеров не меняются и не "
            "удаляются, остаются последние верные данные"
        ),
        "issue.tab_emptied": (
            "вкладка пуста, заголовок тоже: из неё ничего не читается; отмените очистку или "
            "запустите `sheets-kpi init`, чтобы записать заголовок снова"
        ),
        "issue.not_closable": (
            "утвердить можно только один из {months} последних завершённых месяцев"
        ),
        "issue.not_ended": "период ещё не закончился (он заканчивается {end}); утвердите его после",
        "issue.not_approved": (
            "период закончился более {days} дн. назад и не утверждён: проверьте ведомость и "
            "утвердите её во вкладке «Закрытие» (или `sheets-kpi close {period}`)"
        ),
        "issue.config_no_status": (
            "такого этапа нет ни в одной воронке amoCRM; показатели и правила с ним ничего не "
            "считают"
        ),
        "issue.config_no_pipeline": (
            "такой воронки нет в amoCRM; показатели и правила с ней ничего не считают"
        ),
        "issue.config_bad_filter": (
            "фильтр — это `upsell` или id воронки; показатели и правила с ним ничего не считают"
        ),
        "issue.not_number_flag": "ожидается число, а не логическое значение; строка пропущена",
        "issue.not_date_flag": "ожидается дата, а не логическое значение; строка пропущена",
        "issue.not_date_serial": "ожидается дата, а не число {got}; строка пропущена",
        "issue.bonus_base_not_number": "ожидается число, а не {got}; используется база отдела",
        "issue.bonus_base_not_number_flag": (
            "ожидается число, а не логическое значение; используется база отдела"
        ),
        "issue.bonus_base_negative": (
            "база бонуса не может быть отрицательной; используется база отдела"
        ),
        "issue.active_not_boolean": (
            "ожидается да или нет, а не {got}; сотрудник считается активным"
        ),
        "issue.email_not_email": (
            "ожидается адрес почты вида name@example.com; почта остаётся пустой"
        ),
        "issue.personal_spreadsheet_not_spreadsheet": (
            "ожидается ссылка на таблицу https://docs.google.com/spreadsheets/d/<id>/edit или её "
            "id (от 20 латинских букв, цифр, - и _); вкладка менеджера остаётся в основной таблице"
        ),
        "issue.seniority_unknown_choice": (
            "неизвестный опыт {got}; допустимые значения: {allowed}; в Матрице считается джуниором"
        ),
        "issue.seniority_empty": "ячейка пуста; в Матрице считается джуниором",
        "issue.department_not_configured": ("отдела нет в конфигурации; менеджер не входит в KPI"),
        "issue.user_gone": "такого пользователя amoCRM больше нет",
        "issue.user_deactivated": "пользователь amoCRM деактивирован",
        "issue.appeal_no_ref": (
            "ссылка пуста: укажите нарушение (его ссылку во вкладке «Нарушения» или id сделки); "
            "апелляция ничего не отменяет"
        ),
        "issue.appeal_other_manager": (
            "ссылка на нарушение другого менеджера (id {ids}), а не менеджера {manager}; "
            "апелляция ничего не отменяет"
        ),
        "issue.appeal_too_early": (
            "у сделки {lead} нет автоматического нарушения, замеченного к дате апелляции; "
            "апелляция ничего не отменяет"
        ),
        "issue.appeal_no_match": (
            "ссылка не подходит ни к одному нарушению: это не ссылка нарушения этого менеджера "
            "и не сделка с автоматическим нарушением; апелляция ничего не отменяет"
        ),
        "issue.released": (
            "ни одна строка «Сотрудники» больше не указывает эту таблицу: sheets-kpi перестал "
            "обновлять её вкладку {title} {day} и добавил к её названию эту дату (если таблица "
            "была доступна); удалите вкладку, если она не нужна"
        ),
        "issue.sync_failed": (
            "не удалось прочитать amoCRM, KPI посчитаны по сохранённым данным: {error}"
        ),
        "issue.item_skipped": (
            "{problems}; запись пропущена, в хранилище остаётся её прежняя версия"
        ),
        "issue.foreign_tab": (
            "вкладку с таким названием создал не sheets-kpi, поэтому она не тронута и эти данные "
            "не записаны; переименуйте или удалите её"
        ),
        "where.cell": "строка {row}, столбец «{column}»",
        "where.row": "строка {row}",
        "where.column": "столбец «{column}»",
        "where.header_column": "заголовок, столбец {letter}",
        "where.header": "заголовок",
        "where.tab": "вкладка",
        "where.user": "пользователь amoCRM {user}",
        "where.roster_user": "ID amoCRM {user}",
        "where.sync": "синхронизация",
        "where.all_departments": "{period} / все отделы",
    },
    "en": {
        "tab.summary": "Summary — {department}",
        "tab.ranking": "Ranking — {department}",
        "tab.dynamics": "Dynamics — {department}",
        "tab.matrix": "Matrix",
        "tab.clients": "Clients",
        "tab.issues": "Data issues",
        "tab.log": "Run log",
        "tab.released": "{title} (released {date})",
        "manager": "Manager",
        "department": "Department",
        "period": "Period",
        "score": "Score",
        "rank": "Rank",
        "rank_of": "{rank} of {count}",
        "unranked": "unranked",
        "change": "Change",
        "bonus": "Bonus",
        "bonus_now": "Bonus now",
        "bonus_at_pace": "Bonus at current pace",
        "neighbours_title": "Your place in the department",
        "personal.title": "KPI — {name} ({email})",
        "prize": "Prize",
        "top_kpi": "Top contributor",
        "kpi": "KPI",
        "plan": "Plan",
        "fact": "Fact",
        "achievement": "Achievement",
        "weight": "Weight",
        "contribution": "Contribution",
        "still_needed": "Still needed for 100 %",
        "forecast": "Pace forecast",
        "week": "Week",
        "total": "Department total",
        "weeks_title": "Last 12 weeks",
        "violations_title": "Open deal violations",
        "overdue_title": "Overdue tasks",
        "lead": "Deal",
        "task": "Task",
        "rule": "Rule",
        "since": "Since",
        "deadline": "Deadline",
        "link": "Link",
        "seniority": "Seniority",
        "client_type": "Client",
        "won": "Won",
        "lost": "Lost",
        "n": "Total",
        "win_rate": "Win rate",
        "ci_low": "95 % CI low",
        "ci_high": "95 % CI high",
        "mean_won_price": "Mean won price",
        "median_cycle_days": "Median cycle, days",
        "clients": "Clients",
        "once_share": "Bought once",
        "repeat_share": "Bought again",
        "median_days_between": "Median days between purchases",
        "scope": "Who",
        "all": "All",
        "sellers_note": "Deals of sellers: {departments} (analytics.seller_departments)",
        "severity": "Severity",
        "source": "Source",
        "where": "Where",
        "value": "Value",
        "message": "Message",
        "first_seen": "First seen",
        "started": "Started",
        "duration": "Seconds",
        "amocrm_requests": "amoCRM requests",
        "entities": "New / updated",
        "sheets_requests": "Sheets requests",
        "rows_written": "Rows written",
        "status": "Status",
        "error": "Error",
        "junior": "Junior",
        "senior": "Senior",
        "new": "New",
        "repeat": "Repeat",
        "more": "{value} more",
        "less": "{value} fewer",
        "points": "{value} pp",
        "done": "done",
        "tab.statement": "Statement {period}",
        "tab.discrepancies": "Discrepancies",
        "tab.recompute": "Recompute {period}",
        "multiplier": "Multiplier",
        "base": "Base",
        "adjustment": "Adjustment",
        "approved_by": "Approved by",
        "approved_at": "Approved at",
        "in_words": "How it is made",
        "status.approved": "approved",
        "status.draft": "draft",
        "status.recompute": "recompute",
        "statement_note": "Period {period}: {status}. {hint}",
        "hint.draft": (
            "The numbers may still change; approve the period in the Close tab (action approve)."
        ),
        "hint.approved": (
            "Approved numbers never change; later differences are listed in Discrepancies."
        ),
        "hint.recompute": (
            "A `sheets-kpi run --period` preview: live tabs and approved statements are untouched."
        ),
        "words.no_score": "no score: no KPI has a plan",
        "words.below_gate": "score {score} below the gate {gate}",
        "words.prize": "prize {amount}",
        "words.extra": "extra {amount}",
        "words.hold": "deduction {amount}",
        "words.carried": "{amount} of the deduction moves to the next statement",
        "past_title": "Past periods",
        "approved_value": "Approved",
        "value_now": "Now",
        "bonus_difference": "Bonus difference",
        "proposal": "Proposal",
        "leads": "Deals",
        "field.plan": "{kpi}: plan",
        "field.rank": "Rank",
        "field.bonus": "Bonus",
        "decision.proposed": "proposed: accept or reject it in the Close tab",
        "decision.accepted": "accepted",
        "decision.rejected": "rejected",
        "decision.no_effect": "no effect on the bonus",
        "change.reopened": "no longer won",
        "change.deleted": "deleted",
        "change.won_again": "won again in another period",
        "change.repriced": "price {before} → {now}",
        "change.reassigned": "moved to user {to}",
        "change.new": "new win of {amount}",
        "no_discrepancies": "No discrepancies: approved periods match their recomputation.",
        "adjustment_now": "Adjustment to pay",
        "tab.tv": "TV — {department}",
        "tv.as_of": "data as of {time}",
        "tv.average": "Department average",
        "tv.winners": "Winners {period}",
        "tv.page.leaderboard": "Leaderboard",
        "tv.page.progress": "Progress to plan",
        "tv.page.wins_today": "Today",
        "tv.page.no_wins_today": "No wins yet today: the day is young",
        "tv.page.new_win": "New win!",
        "tv.page.waiting": "Waiting for the first cycle: no data for the screen yet",
        "tv.page.best": "best: {manager}, {percent}",
        "tv.page.win": "{manager} won {lead}",
        "tv.page.moved": "{manager}: rank {rank} (was {before})",
        "within_to_date": "within the plan to date ({plan})",
        "over_to_date": "{value} over the plan to date ({plan})",
        "task_number": "task no. {id}",
        "week_in_progress": "{week} (in progress)",
        "rule.no_next_task": "no next task",
        "rule.stale_stage": "stuck in its stage",
        "rule.required_fields": "required fields empty",
        "rule.zero_price_after": "zero deal amount",
        "issue.tab_missing": "the tab is missing: run `sheets-kpi init`",
        "issue.tab_missing_kept": (
            "the tab is missing: run `sheets-kpi init`; no manager tab is changed or removed "
            "and the last good output is kept"
        ),
        "issue.no_plan": "no plan: the KPI is shown but left out of the score",
        "issue.no_plan_ever": (
            "no plan in this month or any earlier one: the KPI is shown but left out of the score"
        ),
        "issue.no_plan_department": (
            "no plan for anyone in the department (no default row, no manager rows): the KPI is "
            "shown but left out of the score"
        ),
        "issue.no_plan_department_ever": (
            "no plan for anyone in the department (no default row, no manager rows) in this "
            "month or any earlier one: the KPI is shown but left out of the score"
        ),
        "issue.plan_carried": (
            "plan carried over from {start} for {count} manager(s): no plan row for {period} "
            "(add rows to set a new plan; plans.carry_over: false turns this off)"
        ),
        "issue.unknown_manager": (
            "unknown manager {name}: not in the roster by id or exact name; the row is skipped"
        ),
        "issue.stranger": "amoCRM user with activity is not in the roster",
        "issue.stranger_no_group": (
            "amoCRM user with activity is not in the roster; the user is in no group in amoCRM, "
            "so `sheets-kpi init` cannot place them: add them to the roster with a department, "
            "or put them in a group named like one"
        ),
        "issue.not_number": "expected a number, got {got}; the row is skipped",
        "issue.share_range": "a share is between 0 and 100 %, got {got}; the row is skipped",
        "issue.not_date": (
            "expected a date like 2026-11-03 or 03.11.2026, got {got}; the row is skipped"
        ),
        "issue.not_month": (
            "expected a month like 2026-11, 11.2026 or ноябрь 2026, got {got}; the row is skipped"
        ),
        "issue.month_range": "month must be 1..12, got {got}; the row is skipped",
        "issue.date_typo": (
            "a date before {first} is taken for a typo, got {got}; the row is skipped"
        ),
        "issue.not_boolean": "expected да/нет (yes/no), got {got}; the row is skipped",
        "issue.cell_empty": "is empty; the row is skipped",
        "issue.not_user_id": "must be a whole amoCRM user id; the row is skipped",
        "issue.ambiguous_manager": (
            "{name} matches several managers (ids {ids}); use the id; the row is skipped"
        ),
        "issue.negative_plan": "a plan cannot be negative; the row is skipped",
        "issue.nps_range": "an NPS answer is a whole number 0..10; the row is skipped",
        "issue.call_quality_range": "call quality is scored {low}..{high}; the row is skipped",
        "issue.accept_needs_manager": "accept needs the manager; the row is skipped",
        "issue.reject_needs_manager": "reject needs the manager; the row is skipped",
        "issue.nothing_to_accept": (
            "nothing to accept: no open discrepancy for this manager in {period}; the row was "
            "read once and is kept as it is"
        ),
        "issue.nothing_to_reject": (
            "nothing to reject: no open discrepancy for this manager in {period}; the row was "
            "read once and is kept as it is"
        ),
        "issue.unknown_choice": (
            "unknown {what} {got}; expected one of {allowed}; the row is skipped"
        ),
        "issue.approve_with_manager": (
            "a period is approved for a whole department; leave the manager empty; the row is "
            "skipped"
        ),
        "issue.duplicate_column": "the same column as {first}; only {first} is read",
        "issue.duplicate_user": "the same amoCRM user as row {first}; the last row wins",
        "issue.duplicate_plan": (
            "duplicate plan for {kpi} in {period} (also row {first}); the last row wins"
        ),
        "issue.after_today": (
            "the date is after today ({today}): a typo, or a row that counts from that day; the "
            "row is skipped"
        ),
        "issue.missing_columns": "missing column(s): {names}; the tab is skipped",
        "issue.missing_columns_kept": (
            "missing column(s): {names}; the tab is skipped; no manager tab is changed or "
            "removed and the last good output is kept"
        ),
        "issue.tab_emptied_kept": (
            "the tab is empty, its header too: nothing is read from it; undo the clearing "
            "or run `sheets-kpi init` to write the header again; no manager tab is changed or "
            "removed and the last good output is kept"
        ),
        "issue.no_manager_kept": (
            "no manager can be read from this tab; no manager tab is changed or removed and the "
            "last good output is kept"
        ),
        "issue.tab_emptied": (
            "the tab is empty, its header too: nothing is read from it; undo the clearing "
            "or run `sheets-kpi init` to write the header again"
        ),
        "issue.not_closable": "only the last {months} ended months can be approved",
        "issue.not_ended": "the period has not ended (it ends {end}); approve it after that",
        "issue.not_approved": (
            "the period ended more than {days} day(s) ago and is not approved: check its "
            "statement and approve it in the close tab (or `sheets-kpi close {period}`)"
        ),
        "issue.config_no_status": (
            "no such status in any amoCRM pipeline; KPIs and rules using it count nothing"
        ),
        "issue.config_no_pipeline": "no such pipeline; KPIs and rules using it count nothing",
        "issue.config_bad_filter": (
            "filter is `upsell` or a pipeline id; KPIs and rules using it count nothing"
        ),
        "issue.not_number_flag": "expected a number, got true/false; the row is skipped",
        "issue.not_date_flag": "expected a date, got true/false; the row is skipped",
        "issue.not_date_serial": "expected a date, got the number {got}; the row is skipped",
        "issue.bonus_base_not_number": (
            "expected a number, got {got}; the department's base is used"
        ),
        "issue.bonus_base_not_number_flag": (
            "expected a number, got true/false; the department's base is used"
        ),
        "issue.bonus_base_negative": "must be >= 0; the department's base is used",
        "issue.active_not_boolean": "expected да/нет (yes/no), got {got}; counted as active",
        "issue.email_not_email": ("expected an e-mail address like name@example.com; left empty"),
        "issue.personal_spreadsheet_not_spreadsheet": (
            "expected a spreadsheet link https://docs.google.com/spreadsheets/d/<id>/edit or its "
            "id (20 or more letters, digits, - and _); the manager's tab stays in the main "
            "spreadsheet"
        ),
        "issue.seniority_unknown_choice": (
            "unknown {what} {got}; expected one of {allowed}; counted as junior in the matrix"
        ),
        "issue.seniority_empty": "is empty; counted as junior in the matrix",
        "issue.department_not_configured": (
            "department is not configured; the manager is left out of KPIs"
        ),
        "issue.user_gone": "no such amoCRM user any more",
        "issue.user_deactivated": "the amoCRM user is deactivated",
        "issue.appeal_no_ref": (
            "ref is empty: name the violation (its ref on the violations tab or the lead id); "
            "the appeal cancels nothing"
        ),
        "issue.appeal_other_manager": (
            "ref is a violation of another manager (id {ids}), not of manager {manager}; the "
            "appeal cancels nothing"
        ),
        "issue.appeal_too_early": (
            "lead {lead} has no automatic deal violation first seen by the appeal's date; the "
            "appeal cancels nothing"
        ),
        "issue.appeal_no_match": (
            "ref matches no violation: neither a ref of this manager's violations nor a lead "
            "with an automatic deal violation; the appeal cancels nothing"
        ),
        "issue.released": (
            "no roster row names this spreadsheet any more: sheets-kpi stopped updating its "
            "tab {title} on {day} and renamed it with that date (unless the spreadsheet could "
            "not be reached); delete it if it is not wanted"
        ),
        #: The error as amoCRM or the client said it (the `first_seen` key, as before).
        "issue.sync_failed": "{error}",
        "issue.item_skipped": (
            "{problems}; this item is skipped and the store keeps what it had of it"
        ),
        "issue.foreign_tab": (
            "a tab with this title was not created by sheets-kpi, so it is left alone and this "
            "output is not written; rename or delete that tab"
        ),
        #: An issue's place; this English text is its key too (`first_seen`), so it never
        #: changes with the locale: `tabs.run.shown_where` reads it back for the ru words.
        "where.cell": "row {row}, column {column}",
        "where.row": "row {row}",
        "where.column": "column {column}",
        "where.header_column": "header, column {letter}",
        "where.header": "header",
        "where.tab": "tab",
        "where.user": "user {user}",
        "where.roster_user": "amo_user_id {user}",
        "where.sync": "sync",
        "where.all_departments": "{period} / all",
    },
}


def label(locale: Locale, key: str, **values: object) -> str:
    return LABELS[locale][key].format(**values)


def rule_label(locale: Locale, rule: str) -> str:
    """A deal rule (`stale_stage`) as people read it; an unknown code is shown as it is."""
    return LABELS[locale].get(f"rule.{rule}", rule)
