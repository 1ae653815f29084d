"""The debate the forum opens with: one topic, its two stances and a thread per disputed point.

Pure data read by the seed_debate command. Thread titles identify threads when seeding again, so keep them unique.
"""

TOPIC = {
    "slug": "sora-leak",
    "title": "The Sora leak: were the testers right, or was OpenAI?",
    "question": "What do you think about the Sora leak: is OpenAI at fault, or were the testers' actions unjustified?",
    "description": (
        "In late November 2024, artists from the early-access programme for Sora, OpenAI's video-generation model, "
        "made it usable by anyone through a Hugging Face space that called the model with their own access "
        "credentials, and published an open letter alongside it. They argued that the programme had them doing "
        "unpaid testing, feedback and creative work for a company valued at over $150 billion, and that every "
        "output needed OpenAI's approval before it could be shared. The exposed build was reported to be a faster "
        '"turbo" variant, with modes reported as Compose, Inpaint and Simple. Reactions split three ways: support '
        "for the testers, admiration for the quality of the clips, and worry about how easily a pre-release tool "
        "had been opened up."
    ),
    # The article the debate sits under (an illustrative address on a reserved domain): GET /api/embed/?url=
    # finds the topic by it, and the widget can be embedded there.
    "source_url": "https://news.example.org/2024/11/sora-early-testers-open-access-open-letter",
}

# Listed in this order on the topic page.
STANCES = [
    {
        "slug": "pro-tester",
        "label": "The testers had a point: OpenAI is at fault",
        "description": (
            "The programme asked a lot of artists and gave little back; the leak was a protest against how they "
            "were treated, and the company's choices led to it."
        ),
    },
    {
        "slug": "pro-openai",
        "label": "The testers were unjustified: OpenAI's programme was fair",
        "description": (
            "Early access in return for feedback is a normal, voluntary arrangement; whatever the grievances, "
            "exposing an unreleased model was the wrong way to air them."
        ),
    },
]

# A reply with "answers_opening" is posted as an answer to the thread's opening post; the others stand alone.
THREADS = [
    {
        "title": "Was early access a fair trade for unpaid work?",
        "opening": {
            "stance": "pro-tester",
            "body": (
                "The testers reported bugs, wrote detailed feedback and produced finished pieces that showed off "
                "what Sora could do, and none of that was paid. OpenAI is valued at more than $150 billion; it can "
                "afford to pay the people whose work improves and advertises its product. Calling it an opportunity "
                "does not stop it being labour."
            ),
        },
        "replies": [
            {
                "stance": "pro-openai",
                "answers_opening": True,
                "body": (
                    "Early access in exchange for feedback is how beta programmes work across the software "
                    "industry, and nobody was obliged to join. Getting to use a tool ahead of the public has real "
                    "value for an artist's portfolio and standing. If the deal looked unfair, the honest options "
                    "were to decline or to leave."
                ),
            },
            {
                "stance": "pro-openai",
                "answers_opening": False,
                "body": (
                    "Two claims are getting mixed up here. That testers deserve payment may well be a fair point "
                    "for the next programme. It does not follow that opening a pre-release model to everyone was a "
                    "proportionate way to make it: the grievance can be real and the method still wrong."
                ),
            },
        ],
    },
    {
        "title": "Is requiring approval before sharing any output reasonable?",
        "opening": {
            "stance": "pro-openai",
            "body": (
                "Every video made in the programme had to be cleared by OpenAI before it could be shown, and I "
                "think that is defensible. An unreleased model can produce strange or harmful results, and the first "
                "clips the public sees shape how the whole product is judged. Reviewing output during a test phase "
                "is ordinary caution about reputation and misuse, not censorship."
            ),
        },
        "replies": [
            {
                "stance": "pro-tester",
                "answers_opening": True,
                "body": (
                    "Screening for harmful content is one thing; a gate on every single output means the company "
                    "decides which art reaches the public at all. A tester who wanted to show the model's flaws, or "
                    "simply made something off-message, had no way to do it. That is curation for marketing, and "
                    "it told participants their creative judgement did not count."
                ),
            },
            {
                "stance": "pro-tester",
                "answers_opening": False,
                "body": (
                    "Testing exists to surface weaknesses. If testers may only publish what the company signs off, "
                    "the public sees a polished picture while the candid findings stay private. A narrower review, "
                    "limited to safety problems and judged against published criteria, would have protected OpenAI "
                    "without muzzling the people doing the testing."
                ),
            },
        ],
    },
    {
        "title": "Creative partners or a marketing campaign?",
        "opening": {
            "stance": "pro-tester",
            "body": (
                "The open letter's sharpest charge is \"artwashing\": using artists' names and work to lend Sora "
                "cultural credibility. Real partners have a say in how a tool develops and how their work is "
                "presented. By the letter's account, the artists mainly supplied polished demos while OpenAI kept "
                "control of the story, which makes them promoters rather than collaborators."
            ),
        },
        "replies": [
            {
                "stance": "pro-openai",
                "answers_opening": True,
                "body": (
                    "Every launch showcases its early users; that alone does not make the relationship hollow. "
                    "Feedback can shape a model even when it happens out of public view. The artists also gained "
                    "attention from the work they made with Sora, so the publicity ran in both directions."
                ),
            },
            {
                "stance": "pro-openai",
                "answers_opening": False,
                "body": (
                    "A letter from some participants does not necessarily speak for everyone who took part. It "
                    "deserves a serious hearing, but a dispute inside a programme is not proof that the whole thing "
                    "was a PR exercise. Plenty of people join early-access schemes precisely for the visibility, and "
                    "know that going in."
                ),
            },
        ],
    },
    {
        "title": "Were the film screenings fair recognition?",
        "opening": {
            "stance": "pro-openai",
            "body": (
                "OpenAI gave some testers the chance to have their Sora films screened, which is genuine exposure "
                "for independent creators. Not every reward has to be cash: a screening can lead to commissions and "
                "an audience that a small fee never would. Dismissing it as nothing seems unfair."
            ),
        },
        "replies": [
            {
                "stance": "pro-tester",
                "answers_opening": True,
                "body": (
                    "The trouble is scale. Only a few testers could get a screening, while everyone in the "
                    "programme contributed testing and material. A prize for a handful is a lottery, not "
                    "compensation, and it looks very small next to what the group's work was worth to the company."
                ),
            },
            {
                "stance": "pro-tester",
                "answers_opening": False,
                "body": (
                    '"Exposure" is the oldest argument for getting creative work for free. If the screenings were '
                    "valuable, they would make a good bonus on top of basic payment. They cannot stand in for it."
                ),
            },
        ],
    },
    {
        "title": "Whose failure was it that a pre-release tool was exposed so easily?",
        "opening": {
            "stance": "pro-tester",
            "body": (
                "Testers' credentials were enough to put an unreleased model behind a public Hugging Face page that "
                "anyone could use. If one of the best-funded labs in the field can have its pre-release tool opened "
                "up that simply, its safeguards were thin. Securing a product before launch is the company's job, "
                "and this showed how little stood in the way."
            ),
        },
        "replies": [
            {
                "stance": "pro-openai",
                "answers_opening": True,
                "body": (
                    "Any access system can be abused by the people it trusts; that is why access comes with terms. "
                    "The testers knowingly used credentials issued for their own work to serve the public, which is "
                    "a breach of trust rather than a clever exploit. Blaming the lock when someone with a key opens "
                    "the door puts the fault in the wrong place."
                ),
            },
            {
                "stance": "pro-openai",
                "answers_opening": False,
                "body": (
                    "The real cost may fall on future testers. After an incident like this, companies have every "
                    "reason to tighten early-access programmes, let fewer outsiders in, or skip them entirely. "
                    "Artists who wanted more openness may have made the next programme more closed."
                ),
            },
        ],
    },
    {
        "title": "What should future early-access programmes change?",
        "opening": {
            "stance": "pro-openai",
            "body": (
                "Even if leaking was the wrong move, the episode points to fixes. Programmes should set out their "
                "terms plainly from the start: what participants give, what they get, and what review their work "
                "goes through. Tighter controls on credentials, such as usage limits and alerts on unusual traffic, "
                "would make unauthorised sharing much harder. Clear rules protect both sides."
            ),
        },
        "replies": [
            {
                "stance": "pro-tester",
                "answers_opening": True,
                "body": (
                    "Clear terms are a start, but they should include payment. Even a token fee recognises that "
                    "feedback and creative work are labour, and it would have changed the tone of this whole "
                    "dispute. Participants should also have a say in how their work is used in promotion."
                ),
            },
            {
                "stance": "pro-tester",
                "answers_opening": False,
                "body": (
                    "I would add a real channel for raising concerns. The testers felt a public protest was the only "
                    "way to be heard; a route to the company with a genuine response might have made it unnecessary. "
                    "Safeguards against leaks work best when people do not feel pushed towards leaking."
                ),
            },
        ],
    },
]
