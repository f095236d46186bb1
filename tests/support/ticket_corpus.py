"""A deterministic generator of realistic ITSM tickets for several tenants, for accuracy tests and
benchmarks."""

import random
import uuid
from dataclasses import dataclass, field

from services.ai.models.documents import TicketDoc
from services.ai.text.summary import Thread

FIRST_NAMES = [
    "Alice",
    "Bruno",
    "Chloé",
    "Dmitri",
    "Emeka",
    "Fatima",
    "Gustav",
    "Hana",
    "Ingrid",
    "Jamal",
    "Keiko",
    "Lars",
    "Marisol",
    "Nikhil",
    "Olga",
    "Pierre",
    "Quentin",
    "Rosa",
    "Sven",
    "Tamara",
    "Umar",
    "Valentina",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zofia",
    "Anne-Marie",
    "Seán",
    "Björn",
    "Leïla",
]
LAST_NAMES = [
    "Martin",
    "Okafor",
    "Schmidt",
    "Nakamura",
    "Haddad",
    "Kowalski",
    "Rossi",
    "Johansson",
    "Fernández",
    "Dubois",
    "O'Brien",
    "Van der Berg",
    "Mensah",
    "Petrova",
    "Lindqvist",
    "Tanaka",
    "García",
    "Müller",
    "Novak",
    "Achterberg",
]

PRIORITIES = ("low", "medium", "high", "critical")

# Each category: (weight, title templates, description templates, resolution templates).
CATEGORIES = {
    "network": (
        5,
        [
            "VPN keeps disconnecting",
            "No internet on {floor}",
            "Wi-Fi drops in {room}",
            "Cannot reach the {app} server",
            "Slow network in {room}",
        ],
        [
            "The VPN client disconnects every few minutes and I lose access to the shared drive.",
            "The wireless network in {room} drops constantly, the access point light is blinking.",
            "My laptop gets no IP address from DHCP on {floor}; the ethernet port seems dead.",
            "Ping to the {app} gateway times out and traceroute stops at the firewall.",
            "DNS does not resolve internal hostnames since this morning; my address is {ip}.",
        ],
        [
            "Reset the access point in {room} and updated its firmware.",
            "Renewed the DHCP lease and patched the switch port on {floor}.",
            "Reinstalled the VPN profile and raised the idle timeout on the gateway.",
        ],
    ),
    "hardware": (
        4,
        [
            "Laptop will not boot",
            "Broken monitor",
            "Docking station not detected",
            "Keyboard keys stuck",
            "Battery drains quickly",
        ],
        [
            "My laptop shows a black screen after the logo and the fan is very loud.",
            "The second monitor flickers and then goes dark; I tried another cable.",
            "The docking station is not detected, no USB devices and no external display.",
            "Several keyboard keys are stuck after a coffee spill on the laptop.",
            "The battery drains from full to empty in one hour, the charger gets hot.",
        ],
        [
            "Replaced the docking station and updated the firmware.",
            "Swapped the laptop under warranty and restored the user profile.",
            "Replaced the monitor cable and the display panel.",
        ],
    ),
    "access": (
        6,
        [
            "Password reset needed",
            "Account locked out",
            "Need access to {app}",
            "MFA prompt not working",
            "Permission denied on shared folder",
        ],
        [
            "My account is locked after too many password attempts and I cannot log in.",
            "Please grant me access to {app}; my manager approved the request.",
            "The MFA push notification never arrives on my phone, so sign-in fails.",
            "I get permission denied when opening the {dept} shared folder.",
            "I forgot my password and the self-service reset link has expired.",
        ],
        [
            "Unlocked the account and reset the password; user changed it at next sign-in.",
            "Added the user to the {app} access group after manager approval.",
            "Re-registered the MFA device and cleared the stale authenticator.",
        ],
    ),
    "email": (
        3,
        [
            "Outlook not syncing",
            "Emails stuck in outbox",
            "Shared mailbox missing",
            "Spam filter blocking a customer",
            "Calendar invites not received",
        ],
        [
            "Outlook stopped syncing new messages, the inbox still shows yesterday.",
            "Emails stay in the outbox and are never sent, attachment is small.",
            "The {dept} shared mailbox disappeared from my Outlook folder list.",
            "Messages from a customer domain land in quarantine as spam.",
            "I do not receive calendar invitations from colleagues anymore.",
        ],
        [
            "Rebuilt the Outlook profile and the offline cache.",
            "Released the messages from quarantine and allow-listed the sender domain.",
            "Re-added the shared mailbox permission and waited for autodiscover.",
        ],
    ),
    "software": (
        4,
        [
            "{app} crashes on start",
            "Install request for {app}",
            "{app} license expired",
            "Update failed",
            "Excel macro error",
        ],
        [
            "{app} crashes immediately on start with an unhandled exception dialog.",
            "Please install {app} on my workstation, it is needed for the {dept} project.",
            "{app} says the license has expired and opens in read-only mode.",
            "The latest update failed to install and rolled back with error 0x80070643.",
            "The Excel macro in the {dept} budget workbook fails with a runtime error.",
        ],
        [
            "Reinstalled {app} and cleared its local settings.",
            "Renewed the {app} license and reactivated the client.",
            "Repaired the update agent and reapplied the patch.",
        ],
    ),
    "printing": (
        2,
        [
            "Printer offline on {floor}",
            "Print jobs stuck",
            "Scanner to email broken",
        ],
        [
            "The printer on {floor} shows offline and jobs stay in the queue.",
            "Print jobs are stuck in the spooler, nothing comes out of the tray.",
            "Scan to email fails, the printer display shows an SMTP error.",
        ],
        [
            "Restarted the print spooler and cleared the queue.",
            "Reconfigured the scanner SMTP relay settings.",
        ],
    ),
    "security": (
        2,
        [
            "Suspicious email received",
            "Possible malware on laptop",
            "Lost badge",
        ],
        [
            "I received a phishing email asking for my credentials, I did not click the link.",
            "The antivirus reports a trojan and the laptop behaves strangely with pop-ups.",
            "I lost my badge and laptop bag on the train this morning.",
        ],
        [
            "Blocked the sender, purged the message from all mailboxes and reset the password.",
            "Isolated the laptop, ran a full scan and reimaged it.",
        ],
    ),
}

# Urgency words correlate with priority (not perfectly: some requesters exaggerate).
URGENCY = {
    "low": [
        "No rush, whenever you have time.",
        "It is a minor cosmetic issue.",
        "Low impact, a workaround exists.",
    ],
    "medium": [
        "It slows my work down a bit.",
        "Please have a look today if possible.",
        "Only I am affected.",
    ],
    "high": [
        "This blocks my work and I have a deadline.",
        "Several colleagues are affected too.",
        "Please treat as urgent.",
    ],
    "critical": [
        "The whole department cannot work, production is down!",
        "Customers are impacted right now, outage!",
        "Emergency: all users are blocked.",
    ],
}
# Vague reports that could belong to several categories.
AMBIGUOUS = [
    "{app} does not work since this morning.",
    "I cannot open {app} on my laptop.",
    "Something is wrong with my computer, it is very slow.",
    "I get an error message when I log in.",
]
FILLERS = [
    "I already restarted the computer.",
    "Thanks in advance for your help.",
    "This started after the weekend.",
    "I am working from home today.",
    "It worked fine last week.",
    "Let me know if you need more details.",
]
SLOTS = {
    "app": ["SAP", "Salesforce", "Jira", "AutoCAD", "Tableau", "Workday", "Zoom", "Photoshop"],
    "floor": ["the 2nd floor", "the 3rd floor", "the ground floor", "building B"],
    "room": ["meeting room Atlas", "the open space", "the cafeteria", "room 4.12"],
    "dept": ["Finance", "HR", "Marketing", "Legal", "Sales"],
}


@dataclass(frozen=True)
class Person:
    subject_id: str
    name: str
    email: str
    phone: str


@dataclass
class CorpusTicket:
    tenant_id: str
    ticket_id: str
    requester: Person
    title: str
    description: str
    category: str
    priority: str
    resolution: str
    comments: list[tuple[Person, str]] = field(default_factory=list)
    duplicate_of: str | None = None

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.description}"

    def to_doc(self, *, labelled: bool = True) -> TicketDoc:
        subjects = {self.requester.subject_id} | {person.subject_id for person, _ in self.comments}
        return TicketDoc(
            self.ticket_id,
            frozenset(subjects),
            self.text,
            self.category if labelled else None,
            self.priority if labelled else None,
            self.resolution,
        )

    def to_thread(self, people: list[Person]) -> Thread:
        return Thread(
            self.title,
            self.description,
            tuple(text for _, text in self.comments),
            tenant_id=self.tenant_id,
            people=tuple((p.name, p.email) for p in people),
        )


@dataclass
class TenantCorpus:
    tenant_id: str
    domain: str
    people: list[Person]
    agents: list[Person]
    tickets: list[CorpusTicket]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _fill(rng: random.Random, template: str) -> str:
    octets = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return template.format(
        ip=octets, **{slot: rng.choice(values) for slot, values in SLOTS.items()}
    )


def _people(rng: random.Random, domain: str, count: int) -> list[Person]:
    people = []
    names = [(first, last) for first in FIRST_NAMES for last in LAST_NAMES]
    for first, last in rng.sample(names, count):
        local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        phone = "+33 6 " + " ".join(str(rng.randrange(10, 99)) for _ in range(4))
        people.append(Person(_uuid(rng), f"{first} {last}", f"{local}@{domain}", phone))
    return people


def _ticket(
    rng: random.Random, tenant_id: str, requester: Person, agent: Person, priority_weights
) -> CorpusTicket:
    category = rng.choices(list(CATEGORIES), [spec[0] for spec in CATEGORIES.values()])[0]
    _, titles, descriptions, resolutions = CATEGORIES[category]
    priority = rng.choices(PRIORITIES, priority_weights)[0]
    # One ticket in six carries the urgency words of another priority, like real requesters.
    said = priority if rng.random() > 1 / 6 else rng.choice(PRIORITIES)
    problem = rng.choice(AMBIGUOUS if rng.random() < 0.15 else descriptions)
    sentences = [_fill(rng, problem), rng.choice(URGENCY[said])]
    sentences += rng.sample(FILLERS, rng.randrange(0, 3))
    if rng.random() < 0.3:
        sentences.append(f"You can call me on {requester.phone} or write to {requester.email}.")
    rng.shuffle(sentences)
    description = f"Hello, this is {requester.name}. " + " ".join(sentences)
    comments = []
    if rng.random() < 0.6:
        comments.append(
            (
                agent,
                f"Hi {requester.name.split()[0]}, thanks for the report, we are looking into it.",
            )
        )
    if rng.random() < 0.4:
        comments.append((requester, "Any update? " + rng.choice(URGENCY[said])))
    title = _fill(rng, rng.choice(titles))
    if rng.random() < 0.05:  # agents file some tickets under the wrong category
        category = rng.choice(list(CATEGORIES))
    return CorpusTicket(
        tenant_id,
        _uuid(rng),
        requester,
        title,
        description,
        category,
        priority,
        _fill(rng, rng.choice(resolutions)),
        comments,
    )


def _duplicate(rng: random.Random, original: CorpusTicket, requester: Person) -> CorpusTicket:
    description = original.description.replace(original.requester.name, requester.name)
    return CorpusTicket(
        original.tenant_id,
        _uuid(rng),
        requester,
        original.title,
        description
        + " "
        + rng.choice(["Same here.", "My colleague reported it too.", "Still happening."]),
        original.category,
        original.priority,
        original.resolution,
        duplicate_of=original.ticket_id,
    )


def tenant_corpus(
    seed: int, tickets: int, *, people: int = 40, duplicate_rate: float = 0.05
) -> TenantCorpus:
    """One tenant's ticket history, identical for identical arguments."""
    rng = random.Random(seed)
    tenant_id = _uuid(rng)
    domain = f"org{rng.randrange(10**6)}.example"
    everyone = _people(rng, domain, people + 3)
    requesters, agents = everyone[:people], everyone[people:]
    priority_weights = rng.choice([(3, 5, 3, 1), (2, 6, 2, 1), (4, 4, 2, 1)])
    history: list[CorpusTicket] = []
    for _ in range(tickets):
        requester = rng.choice(requesters)
        if history and rng.random() < duplicate_rate:
            history.append(_duplicate(rng, rng.choice(history[-50:]), requester))
        else:
            history.append(_ticket(rng, tenant_id, requester, rng.choice(agents), priority_weights))
    return TenantCorpus(tenant_id, domain, requesters, agents, history)


def corpus(seed: int, tenants: int, tickets_per_tenant: int) -> list[TenantCorpus]:
    """Several independent tenants; tenant ``i`` is ``tenant_corpus(seed * 1000 + i, ...)``."""
    return [tenant_corpus(seed * 1000 + index, tickets_per_tenant) for index in range(tenants)]
