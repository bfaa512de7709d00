//! The console's texts: Dutch by default, English switchable (`?lang=en`, the `lang` cookie or
//! the browser's Accept-Language), as the resident pages do (`crate::i18n`).

use crate::texts::table::text_table;
use buurtnet_domain::Language;
use buurtnet_domain::staff::Role;

/// Texts for one language, handed to console templates as `t`.
#[derive(Debug, Clone, Copy)]
pub struct Ct {
    pub lang: Language,
}

impl Ct {
    pub fn code(&self) -> &'static str {
        self.lang.as_str()
    }

    /// The other language's code, for the language switch.
    pub fn other(&self) -> &'static str {
        self.lang.other().as_str()
    }

    /// The text of `key` in this language (tests check that every key used exists).
    pub fn get<'a>(&self, key: &'a str) -> &'a str {
        CONSOLE.get(self.lang, key)
    }

    pub fn role(&self, role: &str) -> &'static str {
        Role::parse(role).map_or("?", |r| r.label(self.lang))
    }
}

text_table! {
    /// The console's texts (`t.get("key")` in `templates/console/`).
    pub static CONSOLE = "console" {
        "console" => ("buurtnet – medewerkers", "buurtnet – staff"),
        "switch" => ("English", "Nederlands"),
        "skip" => ("Naar de inhoud", "Skip to content"),
        "sign_in" => ("Inloggen", "Sign in"),
        "email" => ("E-mailadres", "E-mail address"),
        "password" => ("Wachtwoord", "Password"),
        "forgot" => ("Wachtwoord vergeten?", "Forgot your password?"),
        "demo_notice" => (
            "Demo: de demo-accounts loggen in zonder tweede stap (authenticator-app). Echte accounts van centralisten, verzenders en beheerders hebben die altijd nodig.",
            "Demo: the demo accounts sign in without a second step (authenticator app). Real dispatcher, approver and admin accounts always need it.",
        ),
        "second_factor" => ("Tweede stap", "Second step"),
        "second_factor_intro" => {
            ("Vul de code van 6 cijfers uit je authenticator-app in.", "Enter the 6-digit code from your authenticator app.")
        },
        "code" => ("Code (6 cijfers)", "Code (6 digits)"),
        "confirm" => ("Bevestigen", "Confirm"),
        "enrol" => ("Tweede stap instellen", "Set up the second step"),
        "enrol_intro" => (
            "Voor jouw rol is een tweede stap verplicht. Scan de QR-code met een authenticator-app (bijvoorbeeld FreeOTP of Google Authenticator) en vul de code in die de app toont.",
            "Your role requires a second step. Scan the QR code with an authenticator app (for example FreeOTP or Google Authenticator) and enter the code the app shows.",
        ),
        "qr_alt" => ("QR-code voor je authenticator-app", "QR code for your authenticator app"),
        "manual_key" => ("Of typ deze sleutel over", "Or type in this key"),
        "sign_out" => ("Uitloggen", "Sign out"),
        "turn_on_second_factor" => ("Tweede stap aanzetten", "Turn on the second step"),
        "second_factor_is_on" => (
            "De tweede stap staat aan: bij elke aanmelding vragen we de code uit je app.",
            "The second step is on: every sign-in asks for the code from your app.",
        ),
        "confirm_password_intro" => (
            "Vul eerst je wachtwoord nog eens in. Daarna tonen we de QR-code voor je authenticator-app.",
            "First enter your password again. Then we show the QR code for your authenticator app.",
        ),
        "wrong_password" => ("Dit wachtwoord klopt niet.", "This password is not right."),
        "wrong_code" => ("Deze code klopt niet (of is al gebruikt).", "This code is not right (or was used already)."),
        "too_many_codes" => ("Te veel verkeerde codes. Log opnieuw in.", "Too many wrong codes. Sign in again."),
        "second_factor_locked" => (
            "De tweede stap van dit account is geblokkeerd na te veel verkeerde codes. Vraag een beheerder om hem opnieuw te laten instellen.",
            "The second step of this account is locked after too many wrong codes. Ask an administrator to have it set up again.",
        ),
        "sign_out_everywhere" => ("Overal uitloggen", "Sign out everywhere"),
        "signed_out_everywhere" => ("Je bent op alle apparaten uitgelogd.", "You have been signed out on every device."),
        "reset_title" => ("Wachtwoord opnieuw instellen", "Reset your password"),
        "reset_intro" => (
            "Vul je e-mailadres in. Als er een account bij hoort, sturen we een link waarmee je een nieuw wachtwoord kiest.",
            "Enter your e-mail address. If it belongs to an account, we send a link to choose a new password.",
        ),
        "reset_send" => ("Stuur de link", "Send the link"),
        "reset_sent" => (
            "Als dit adres bij een account hoort, is er een link verstuurd. Die werkt 30 minuten en één keer.",
            "If this address belongs to an account, a link has been sent. It works once, for 30 minutes.",
        ),
        "new_password" => ("Nieuw wachtwoord (minstens 12 tekens)", "New password (at least 12 characters)"),
        "password_set" => ("Je wachtwoord is ingesteld. Log opnieuw in.", "Your password has been set. Please sign in again."),
        "link_invalid" => (
            "Deze link werkt niet (meer). Vraag een nieuwe aan.",
            "This link does not work (any more). Please ask for a new one.",
        ),
        "home" => ("Overzicht", "Overview"),
        "welcome" => ("Ingelogd als", "Signed in as"),
        "scope" => ("Werkgebied", "Scope"),
        "role" => ("Rol", "Role"),
        "actions" => ("Acties", "Actions"),
        "open_actions" => ("Open en recente acties", "Open and recent actions"),
        "no_actions" => ("Er zijn geen acties in je werkgebied.", "There are no actions in your scope."),
        "kind" => ("Soort", "Kind"),
        "state" => ("Status", "State"),
        "created" => ("Aangemaakt", "Created"),
        "title" => ("Titel", "Title"),
        "enquiries" => ("Buurtonderzoeken", "Neighbourhood enquiries"),
        "no_enquiries" => ("Er zijn geen buurtonderzoeken in je werkgebied.", "There are no enquiries in your scope."),
        "participants" => ("Deelnemers per buurt", "Participants per neighbourhood"),
        "admin" => ("Beheer", "Administration"),
        "staff" => ("Medewerkers", "Staff"),
        "audit" => ("Auditlog", "Audit log"),
        "new_staff" => ("Nieuwe medewerker", "New staff member"),
        "create" => ("Aanmaken", "Create"),
        "created_staff" => (
            "Het account is aangemaakt. De medewerker krijgt een e-mail met een link om een wachtwoord te kiezen.",
            "The account has been created. The staff member gets an e-mail with a link to choose a password.",
        ),
        "change" => ("Wijzigen", "Change"),
        "changed" => ("Opgeslagen.", "Saved."),
        "disable" => ("Blokkeren", "Disable"),
        "enable" => ("Deblokkeren", "Enable"),
        "disabled" => ("geblokkeerd", "disabled"),
        "active" => ("actief", "active"),
        "reset_totp" => ("Tweede stap opnieuw laten instellen", "Make them set up the second step again"),
        "second_factor_on" => ("tweede stap aan", "second step on"),
        "second_factor_off" => ("geen tweede stap", "no second step"),
        "status" => ("Status", "Status"),
        "at" => ("Tijd", "Time"),
        "actor" => ("Wie", "Who"),
        "what" => ("Wat", "What"),
        "on_what" => ("Waarop", "On what"),
        "details" => ("Details", "Details"),
        "filter" => ("Filteren", "Filter"),
        "from" => ("Vanaf (JJJJ-MM-DD)", "From (YYYY-MM-DD)"),
        "to" => ("Tot (JJJJ-MM-DD)", "To (YYYY-MM-DD)"),
        "export_csv" => ("Exporteren (CSV)", "Export (CSV)"),
        "older" => ("Oudere regels", "Older entries"),
        "error_title" => ("Er ging iets mis", "Something went wrong"),
        "request_id" => ("Verzoek-ID", "Request ID"),
        "back" => ("Terug", "Back"),
        "not_allowed" => ("Dit mag je rol niet.", "Your role may not do this."),
        "map" => ("Kaart: nieuwe actie", "Map: new action"),
        "map_help" => (
            "Klik op de kaart om de plaats van het incident te kiezen en sleep het bolletje op de rand om de cirkel groter of kleiner te maken (of typ de straal); of teken een veelhoek door de hoeken aan te klikken, of klik buurten en wijken aan. Het aantal bereikte mensen per kanaal wordt direct bijgewerkt.",
            "Click the map to place the incident and drag the dot on its edge to size the circle (or type the radius); or draw a polygon by clicking its corners, or click neighbourhoods and districts. The number of people reached per channel updates at once.",
        ),
        "map_label" => ("Kaart van het werkgebied", "Map of your scope"),
        "area_mode" => ("Gebied", "Area"),
        "mode_circle" => ("Cirkel rond het incident", "Circle around the incident"),
        "mode_polygon" => ("Veelhoek tekenen", "Draw a polygon"),
        "mode_areas" => ("Buurten en wijken aanklikken", "Click neighbourhoods and districts"),
        "radius" => ("Straal (meter)", "Radius (metres)"),
        "radius_handle" => ("Sleep om de straal te kiezen", "Drag to choose the radius"),
        "lat" => ("Breedtegraad", "Latitude"),
        "lon" => ("Lengtegraad", "Longitude"),
        "reach" => ("Bereik", "Reach"),
        "people" => ("mensen", "people"),
        "no_area" => ("Nog geen gebied gekozen.", "No area chosen yet."),
        "message_status" => ("Soort bericht", "Kind of message"),
        "st_actual" => ("Echt", "Actual"),
        "st_exercise" => ("Oefening", "Exercise"),
        "st_test" => ("Test", "Test"),
        "description" => {
            ("Beschrijving (wat moeten mensen zoeken, \"niet benaderen\")", "Description (what to look for, \"do not approach\")")
        },
        "consent" => ("Toestemming familie (bij vermissing): van wie", "Family consent (missing person): given by"),
        "preview" => ("Voorbeeld per kanaal", "Preview per channel"),
        "make_preview" => ("Voorbeeld maken", "Make the preview"),
        "send" => ("Versturen", "Send"),
        "confirm_send" => (
            "Weet je het zeker? Het bericht gaat direct naar alle bereikte mensen.",
            "Are you sure? The message goes to everyone reached at once.",
        ),
        "sms_segments" => ("sms-delen", "SMS parts"),
        "voice" => ("Gesproken tekst", "Spoken text"),
        "push" => ("App-melding", "Push notification"),
        "email_channel" => ("E-mail", "E-mail"),
        "live" => ("Actie", "Action"),
        "deliveries" => ("Bezorging per kanaal", "Deliveries per channel"),
        "no_deliveries" => ("Nog niets bezorgd.", "Nothing delivered yet."),
        "tips" => ("Tips van bewoners", "Tips from residents"),
        "no_tips" => ("Nog geen tips.", "No tips yet."),
        "update" => ("Update versturen", "Send an update"),
        "update_text" => ("Tekst van de update", "Text of the update"),
        "close" => ("Afsluiten", "Close"),
        "close_text" => ("Afloopbericht (optioneel)", "Closing message (optional)"),
        "outcome" => ("Resultaat", "Outcome"),
        "choose_outcome" => ("Kies het resultaat.", "Choose the outcome."),
        "out_direct" => ("Direct succes (dankzij deelnemers)", "Direct success (thanks to participants)"),
        "out_indirect" => ("Indirect succes (nuttige bijdrage)", "Indirect success (useful contribution)"),
        "out_none" => ("Geen succes", "No success"),
        "reminder" => (
            "Deze actie loopt al meer dan 30 minuten: sluit haar af met een afloopbericht.",
            "This action has been open for more than 30 minutes: close it with a closing message.",
        ),
        "messages_sent" => ("Berichten", "Messages"),
        "suspect" => ("Verdachte", "Suspect"),
        "vehicle" => ("Voertuig", "Vehicle"),
        "missing_person" => ("Vermiste persoon", "Missing person"),
        "runaway_child" => ("Weggelopen kind", "Runaway child"),
        "gas_leak" => ("Gaslek", "Gas leak"),
        "bomb" => ("Bom(melding)", "Bomb"),
        "explosion" => ("Explosie", "Explosion"),
        "disaster" => ("Ramp", "Disaster"),
        "other" => ("Anders", "Other"),
        "burglary" => ("Woninginbraak", "Burglary"),
        "attempted_burglary" => ("Poging tot inbraak", "Attempted burglary"),
        "street_robbery" => ("Straatroof", "Street robbery"),
        "arson" => ("Brandstichting", "Arson"),
        "vandalism" => ("Vernieling", "Vandalism"),
        "relevant" => ("Relevant voor deze zaak", "Relevant for this case"),
        "relevant_other" => ("Relevant, maar voor een andere zaak", "Relevant, but for another case"),
        "not_relevant" => ("Niet relevant", "Not relevant"),
        "new_enquiry" => ("Nieuw buurtonderzoek aanvragen", "Request a new neighbourhood enquiry"),
        "incident_type" => ("Soort incident", "Kind of incident"),
        "occurred_at" => ("Wanneer (datum en tijd)", "When (date and time)"),
        "radius_m" => ("Straal rond de plaats (meter)", "Radius around the place (metres)"),
        "questions" => ("Vragen aan de buurt", "Questions to the neighbourhood"),
        "request" => ("Aanvragen", "Request"),
        "queue" => ("Wachtrij en overzicht", "Queue and overview"),
        "all_states" => ("Alle", "All"),
        "st_requested" => ("Aangevraagd", "Requested"),
        "st_returned" => ("Teruggegeven", "Returned"),
        "st_sent" => ("Verstuurd", "Sent"),
        "st_closed" => ("Gesloten", "Closed"),
        "show" => ("Tonen", "Show"),
        "enquiry" => ("Buurtonderzoek", "Neighbourhood enquiry"),
        "approve" => ("Goedkeuren en versturen", "Approve and send"),
        "request_photo" => ("Foto bij het verzoek", "Photo with the request"),
        "request_photo_hint" => (
            "Optioneel. Bewoners zien de foto in de e-mail, de app-melding en op de reactiepagina. Locatiegegevens (EXIF) worden verwijderd.",
            "Optional. Residents see the photo in the e-mail, the app notification and on the reply page. Location data (EXIF) is removed.",
        ),
        "choose_photo" => {
            ("Kies een foto (JPEG, PNG of WebP, hoogstens 10 MB)", "Choose a photo (JPEG, PNG or WebP, at most 10 MB)")
        },
        "upload_photo" => ("Foto toevoegen", "Add photo"),
        "give_back" => ("Teruggeven aan de aanvrager", "Return to the requester"),
        "comment" => ("Opmerking", "Comment"),
        "return_comment" => ("Opmerking bij teruggeven", "Comment on return"),
        "refused" => ("Geweigerd", "Refused"),
        "second_person" => ("Goedkeuring door een tweede persoon", "Approval by a second person"),
        "second_person_waiting" => (
            "Deze actie wordt pas verstuurd als een tweede centralist of een landelijk beheerder haar heeft goedgekeurd.",
            "This action is sent only once a second dispatcher or a national administrator has approved it.",
        ),
        "second_person_approve" => ("Goedkeuren als tweede persoon", "Approve as the second person"),
        "second_person_approved" => ("Goedgekeurd door een tweede persoon", "Approved by a second person"),
        "recipients" => ("Ontvangers", "Recipients"),
        "replies" => ("Reacties", "Replies"),
        "open_replies" => ("open", "open"),
        "no_replies" => ("Nog geen reacties.", "No replies yet."),
        "classify" => ("Beoordelen", "Classify"),
        "answer" => ("Antwoord aan de bewoner", "Answer to the resident"),
        "answer_template" => ("Standaardantwoord", "Standard answer"),
        "tpl_none" => ("Eigen tekst", "Own text"),
        "tpl_used" => ("Doorgegeven aan het onderzoeksteam", "Passed on to the investigating team"),
        "tpl_other_case" => ("Helpt bij een andere zaak", "Helps another case"),
        "tpl_not_relevant" => ("Niet bruikbaar", "Not of use"),
        "own_text" => ("Eigen tekst (optioneel)", "Own text (optional)"),
        "send_answer" => ("Antwoord versturen", "Send the answer"),
        "forward" => ("Doorsturen naar het onderzoeksteam", "Forward to the investigating team"),
        "answered" => ("beantwoord", "answered"),
        "overdue" => ("te laat", "overdue"),
        "close_enquiry" => ("Buurtonderzoek sluiten", "Close the enquiry"),
        "monthly" => ("Maandoverzicht", "Monthly table"),
        "month" => ("Maand", "Month"),
        "sent" => ("Verstuurd", "Sent"),
        "with_reply" => ("Met reactie", "With a reply"),
        "reaction_pct" => ("Reactie %", "Reaction %"),
        "relevant_pct" => ("Relevant %", "Relevant %"),
        "no_months" => ("Nog geen verstuurde buurtonderzoeken.", "No enquiries sent yet."),
        "coverage" => ("Deelnemers per buurt", "Participants per neighbourhood"),
        "neighbourhood" => ("Buurt", "Neighbourhood"),
        "inhabitants" => ("Inwoners", "Inhabitants"),
        "share" => ("Dekking %", "Coverage %"),
        "recruit" => ("werven", "recruit"),
        "coverage_intro" => (
            "Aantallen deelnemers (geen personen) per buurt van je gemeente; buurten onder 10% van de inwoners zijn gemarkeerd om te werven.",
            "Numbers of participants (never people) per neighbourhood of your municipality; neighbourhoods under 10% of their inhabitants are marked for recruitment.",
        ),
    }
}
