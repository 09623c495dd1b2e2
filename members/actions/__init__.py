"""State changes of the members app: one module per concern, one function per use case.

Each action validates, writes in one transaction with its history event, counter
adjustments (`members.counters`) and audit entry, and schedules side effects with
`transaction.on_commit`. Admin, API, portal views and Celery tasks call them.

- `records`: enrolling, correcting, ending memberships, revealing identifiers;
- `cards`: issuing membership cards;
- `history`: the events a change appends; `permissions`: who may keep member records;
- `joining`, `transfers`, `dues`, `payroll`, `dues_reminders`, `spreadsheets`, `privacy`:
  the features.

Reads live in `members.selectors`, real-name validation in `members.people`, numbers and
card tokens in `members.cards`, counter keys in `members.counters`, the dues rule and the
parsing of amounts in `members.amounts`.
"""
