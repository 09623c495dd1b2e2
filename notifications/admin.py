# Notifications are personal to their recipient; operators inspect them in the database.
